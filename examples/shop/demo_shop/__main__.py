"""``python -m demo_shop`` (from ``examples/shop``): serve the shop, configured by ``SHOP_*`` environment variables."""

from __future__ import annotations

import os

import uvicorn

from .app import ShopConfig, create_app


def main() -> None:
    """Serve the shop on ``SHOP_HOST``:``SHOP_PORT`` (127.0.0.1:8001 by default) until Ctrl-C or SIGTERM."""
    config = ShopConfig.from_environment()
    host = os.environ.get("SHOP_HOST", "127.0.0.1")
    port = int(os.environ.get("SHOP_PORT", "8001"))
    uvicorn.run(create_app(config), host=host, port=port, log_level="warning")


if __name__ == "__main__":
    main()

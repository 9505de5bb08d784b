"""A demo merchant of Kleline: a tiny shop that sells through Kleline's public API and receives its webhooks.

It is a separate application: it reaches Kleline only over HTTP with its secret key (``sk_...``), and learns of
payments from Kleline's signed webhooks. ``kleline demo`` starts it; see ``examples/shop/README.md``.
"""

from .app import ShopConfig, create_app
from .orders import CATALOGUE, OrderBook

__all__ = ["CATALOGUE", "OrderBook", "ShopConfig", "create_app"]

"""The ASGI entry for ``uvicorn --factory``: builds Kleline from the environment in each worker."""

from __future__ import annotations

from fastapi import FastAPI

from kleline.api.app import create_app
from kleline.bootstrap import build


def app_from_environment() -> FastAPI:
    """The API over Kleline as the ``KLELINE_*`` environment describes it."""
    return create_app(build())

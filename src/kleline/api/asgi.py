"""Small ASGI pieces shared by the API's middlewares."""

from __future__ import annotations

from starlette.types import Message, Receive

__all__ = ["feed"]


def feed(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the application the body a middleware already read, then whatever the client sends
    next (a disconnect): the body can be read once only, and the middleware had to read it first."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay

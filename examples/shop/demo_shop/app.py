"""The demo shop's web application: a catalogue, orders paid through Kleline's checkout, and its webhook receiver.

The whole integration with Kleline, as a merchant would write it:
1. *Buy*: the shop records an order, creates a Kleline payment for it (``POST /v1/payments`` with the order id as
   ``reference`` and a ``return_url`` back to the order) and sends the browser to the payment's ``checkout_url``.
2. *Return*: Kleline's checkout sends the customer back with ``payment_id`` and ``status`` in the query. Anyone can
   type a query string, so the shop reads the payment from Kleline instead (``GET /v1/payments/{id}``), using the
   payment id it stored itself.
3. *Webhooks*: Kleline POSTs signed events to ``/webhooks/kleline``. The signature is checked over the raw body
   before anything is parsed; a bad one is answered 400 and changes nothing; each event id is applied once.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx2 as httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

# Kleline's verification helper: standard library only, written to be copied into a merchant's code base. The demo
# imports it rather than keeping a second copy that could drift from the signing side.
from kleline.events.signature import HEADER, SignatureError, verify

from .kleline_api import KlelineApi, KlelineApiError
from .orders import CATALOGUE, Order, OrderBook, UnknownOrder

__all__ = ["ShopConfig", "create_app"]

MAX_BODY = 256 * 1024
_templates = Jinja2Templates(directory=Path(__file__).with_name("templates"))
_templates.env.filters["euros"] = lambda cents: f"{cents // 100}.{cents % 100:02d}"


@dataclass(frozen=True)
class ShopConfig:
    """Where Kleline is, the shop's own address, and its two secrets (its API key and its webhook secret)."""

    kleline_url: str
    secret_key: str = field(repr=False)
    webhook_secret: str = field(repr=False)
    public_url: str = "http://127.0.0.1:8001"

    @classmethod
    def from_environment(cls) -> ShopConfig:
        """Read ``SHOP_KLELINE_URL``, ``SHOP_SECRET_KEY`` (sk_...), ``SHOP_WEBHOOK_SECRET`` (whsec_...) and
        ``SHOP_PUBLIC_URL``."""
        missing = [name for name in ("SHOP_SECRET_KEY", "SHOP_WEBHOOK_SECRET") if not os.environ.get(name)]
        if missing:
            raise SystemExit(f"set {' and '.join(missing)} (kleline demo does it for you)")
        return cls(
            kleline_url=os.environ.get("SHOP_KLELINE_URL", "http://127.0.0.1:8000"),
            secret_key=os.environ["SHOP_SECRET_KEY"],
            webhook_secret=os.environ["SHOP_WEBHOOK_SECRET"],
            public_url=os.environ.get("SHOP_PUBLIC_URL", "http://127.0.0.1:8001").rstrip("/"),
        )


def create_app(
    config: ShopConfig, *, transport: httpx.AsyncBaseTransport | None = None, orders: OrderBook | None = None
) -> Starlette:
    """The shop; ``transport`` replaces the network between the shop and Kleline (tests pass Kleline's app)."""
    book = orders if orders is not None else OrderBook()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        headers = {"Authorization": f"Bearer {config.secret_key}"}
        async with httpx.AsyncClient(
            base_url=config.kleline_url, headers=headers, transport=transport, timeout=10.0
        ) as client:
            app.state.api = KlelineApi(client)
            yield

    app = Starlette(
        routes=[
            Route("/", catalogue),
            Route("/orders", buy, methods=["POST"]),
            Route("/orders/{order_id}", order_page),
            Route("/orders/{order_id}/return", checkout_return),
            Route("/orders/{order_id}/refund", refund, methods=["POST"]),
            Route("/webhooks/kleline", webhook, methods=["POST"]),
            Route("/health", health),
        ],
        lifespan=lifespan,
    )
    app.state.config = config
    app.state.orders = book
    return app


def _book(request: Request) -> OrderBook:
    book: OrderBook = request.app.state.orders
    return book


def _api(request: Request) -> KlelineApi:
    api: KlelineApi = request.app.state.api
    return api


def _config(request: Request) -> ShopConfig:
    config: ShopConfig = request.app.state.config
    return config


def _page(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    return _templates.TemplateResponse(request, name, context, status_code=status)


def _message(request: Request, title: str, message: str, status: int) -> Response:
    return _page(request, "message.html", {"title": title, "message": message}, status)


def _cross_site(request: Request) -> bool:
    """A form posted from another site (the browser names it in ``Origin``): refused, so that no other page can
    place or refund orders in a visitor's name."""
    origin = request.headers.get("origin")
    if origin is None:
        return False
    own = urlsplit(_config(request).public_url)
    return origin.rstrip("/") != f"{own.scheme}://{own.netloc}"


async def _body(request: Request) -> bytes | None:
    """The request's body, or None when it is larger than ``MAX_BODY`` (read no further than that)."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            return None
    return body


async def _form(request: Request) -> dict[str, str]:
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/x-www-form-urlencoded":
        return {}
    body = await _body(request)
    return {} if body is None else dict(parse_qsl(body.decode("utf-8", "replace")))


async def catalogue(request: Request) -> Response:
    """The shop window, and the orders placed so far."""
    return _page(request, "catalogue.html", {"title": "Shop", "items": CATALOGUE, "orders": _book(request).all()})


async def buy(request: Request) -> Response:
    """Place an order and send the customer to Kleline's checkout to pay it."""
    if _cross_site(request):
        return _message(request, "Refused", "This form was sent from another site.", 403)
    sku = (await _form(request)).get("sku", "")
    item = next((item for item in CATALOGUE if item.sku == sku), None)
    if item is None:
        return _message(request, "No such item", "Choose an item from the catalogue.", 400)
    book = _book(request)
    order = book.create(item)
    base = _config(request).public_url
    try:
        payment = await _api(request).create_payment(
            amount=item.price,
            currency=item.currency,
            description=item.name,
            reference=order.id,
            return_url=f"{base}/orders/{order.id}/return",
            idempotency_key=f"{order.id}:payment",
        )
    except KlelineApiError as error:
        book.fail(order.id, str(error))
        return _message(request, "Payment unavailable", f"The order could not be paid: {error}", 502)
    book.attach(order.id, payment)
    return RedirectResponse(payment["checkout_url"], status_code=303)


def _order(request: Request) -> Order | None:
    try:
        return _book(request).get(request.path_params["order_id"])
    except UnknownOrder:
        return None


async def order_page(request: Request) -> Response:
    """An order: its status, its payment, and the webhooks that told the shop about it."""
    order = _order(request)
    if order is None:
        return _message(request, "No such order", "This order does not exist (orders are kept in memory).", 404)
    # Reload until the webhook has told the shop what the customer's return already showed.
    heard = order.payment_id is None or bool(order.webhooks)
    waiting = order.status in ("awaiting_payment", "authorized") or not heard
    context = {"title": f"Order {order.id}", "order": order, "refresh": waiting and order.status != "error"}
    return _page(request, "order.html", context)


async def checkout_return(request: Request) -> Response:
    """Back from Kleline's checkout: read the payment from Kleline (never the query string), then show the order."""
    order = _order(request)
    if order is None or order.payment_id is None:
        return _message(request, "No such order", "This order does not exist (orders are kept in memory).", 404)
    claimed = request.query_params.get("payment_id")
    if claimed is not None and claimed != order.payment_id:
        return _message(request, "Wrong payment", "This payment does not belong to this order.", 400)
    try:
        payment = await _api(request).get_payment(order.payment_id)
    except KlelineApiError as error:
        return _message(request, "Payment status unavailable", str(error), 502)
    _book(request).apply_payment(payment)
    return RedirectResponse(f"/orders/{order.id}", status_code=303)


async def refund(request: Request) -> Response:
    """Refund a paid order in full (``POST /v1/refunds``); the webhook confirms it too."""
    if _cross_site(request):
        return _message(request, "Refused", "This form was sent from another site.", 403)
    order = _order(request)
    if order is None or order.payment_id is None or not order.refundable:
        return _message(request, "Cannot refund", "Only a paid order can be refunded.", 400)
    try:
        answer = await _api(request).refund(order.payment_id, idempotency_key=f"{order.id}:refund:{order.refunded}")
    except KlelineApiError as error:
        return _message(request, "Refund refused", str(error), 502)
    _book(request).apply_refund(answer)
    return RedirectResponse(f"/orders/{order.id}", status_code=303)


async def health(_request: Request) -> Response:
    """The shop answers (``kleline demo`` waits for it before printing where to click)."""
    return JSONResponse({"status": "ok"})


async def webhook(request: Request) -> Response:
    """Kleline's signed events: verify over the raw bytes, then apply each event id once."""
    body = await _body(request)
    if body is None:
        return JSONResponse({"error": "body too large"}, status_code=413)
    try:
        verify(_config(request).webhook_secret, request.headers.get(HEADER), body)
    except SignatureError as error:
        return JSONResponse({"error": str(error)}, status_code=400)
    try:
        event = json.loads(body)
    except ValueError:
        return JSONResponse({"error": "the body is not JSON"}, status_code=400)
    if not isinstance(event, dict) or not isinstance(event.get("id"), str):
        return JSONResponse({"error": "not an event"}, status_code=400)
    applied = _book(request).apply_event(event)
    return JSONResponse({"received": event["id"], "duplicate": not applied})

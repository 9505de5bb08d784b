"""The FastAPI application: health, the OpenAPI document and docs, problem JSON, the ``/v1`` routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from kleline import __version__
from kleline.api import boundary, idempotency, openapi, problems, routing
from kleline.api.auth import kleline_of
from kleline.api.routes import (
    audiences,
    audit_events,
    bank_account_changes,
    bank_accounts,
    bank_statements,
    cards,
    collections,
    commission_rates,
    consents,
    customer_rights,
    customer_verification,
    customers,
    events,
    ledger,
    malls,
    merchant_reviews,
    merchants,
    operator_keys,
    passkeys,
    payment_search,
    payments,
    proposals,
    receipts,
    receivables,
    settlement,
    staff_lookup,
    staff_reports,
    statements,
    top_ups,
    wallet,
    wallet_offers,
    webhook_endpoints,
)
from kleline.bootstrap import Kleline
from kleline.web import app as pages

__all__ = ["create_app"]


def create_app(kleline: Kleline) -> FastAPI:
    """The API over an already-built Kleline."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        kleline.close()

    app = FastAPI(
        title="Kleline",
        version=__version__,
        summary="A payment intermediary for online shopping: wallets, merchants, payments, settlement.",
        lifespan=lifespan,
        docs_url=None,  # /docs and /redoc are served by kleline.web.docs, without a CDN
        redoc_url=None,
    )
    app.state.kleline = kleline
    problems.install(app)
    idempotency.install(app, kleline.idempotency)
    boundary.install(
        app, _limits(kleline), pages.not_found_page, pages.too_large_page
    )  # after idempotency: it must run before it
    openapi.install(app)  # after idempotency's rewrite: it reads the Idempotency-Key parameter that one adds
    # A request is matched against the routers in this order, among those its path's first two segments allow
    # (``routing.index_routes``, below): the order matters only between routers whose paths overlap.
    app.include_router(payment_search.router)  # before payments: /v1/payments/export.csv is not a payment id
    app.include_router(payments.router)
    app.include_router(customers.router)
    app.include_router(wallet.router)
    app.include_router(consents.router)
    app.include_router(wallet_offers.router)
    app.include_router(audiences.router)
    app.include_router(customer_rights.router)
    app.include_router(top_ups.router)
    app.include_router(cards.router)
    app.include_router(passkeys.router)
    app.include_router(bank_accounts.router)
    app.include_router(collections.router)
    app.include_router(receivables.router)
    app.include_router(ledger.router)
    app.include_router(receipts.router)
    app.include_router(merchants.router)
    app.include_router(merchant_reviews.router)
    app.include_router(bank_account_changes.router)
    app.include_router(commission_rates.router)
    app.include_router(proposals.router)
    app.include_router(malls.router)
    app.include_router(webhook_endpoints.router)
    app.include_router(events.router)
    app.include_router(bank_statements.router)
    app.include_router(settlement.router)
    app.include_router(statements.router)
    app.include_router(staff_reports.router)
    app.include_router(staff_lookup.router)
    app.include_router(customer_verification.router)
    app.include_router(audit_events.router)
    app.include_router(operator_keys.router)
    pages.install(app, kleline)

    @app.get("/health", tags=["operations"])
    def health(request: Request) -> JSONResponse:
        """Liveness and database reachability."""
        with kleline_of(request).db.transaction(write=False) as tx:
            tx.fetchone("SELECT 1")
        return JSONResponse({"status": "ok", "version": __version__})

    @app.get("/health/live", tags=["operations"])
    async def live() -> JSONResponse:
        """The process answers; no database (a load balancer's liveness probe, and the benchmark's reference)."""
        return JSONResponse({"status": "ok"})

    routing.index_routes(app)  # last: every route is in
    return app


def _limits(kleline: Kleline) -> boundary.Limits:
    settings = kleline.settings
    return boundary.Limits(settings.max_body_bytes, settings.max_statement_bytes, settings.max_form_bytes)

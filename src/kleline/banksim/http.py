"""The simulated banks' HTTP side: where SEPA files are sent, statements fetched, and tests set accounts up.

    POST /files                          pain.001 / pain.008 body → 201 {id, kind, message_id, account_iban,
                                         transactions, total, currency, returns: [{end_to_end_id, reason}]}
                                         (200 with the first receipt when the very same file comes again)
    POST /statements/{iban}?currency=    closes the period → 201, the camt.053 (application/xml), with headers
                                         Location: /statements/{iban}/{n} and X-Statement-Sequence: n
    GET  /statements/{iban}/{n}?currency= statement n again, byte for byte
    GET  /accounts/{iban}?currency=      {iban, bic, name, currency, balance, closed, statements}
    POST /accounts/{iban}                {balance?: "12.50", currency?: "EUR", closed?: bool} → the account
    GET  /cards/{number}/balance?currency=      {currency, posted, held, available}
    POST /cards/{number}/balance         {balance: "0.00", currency?: "EUR"} → the same
    GET  /banks                          {bic: [iban, ...]}
    GET  /trial-balance                  {currency: sum of every balance}: "0.00" each when the books balance
    GET  /health                         {status: "ok", acquirer_iban}

Amounts are decimal strings ("12.50"), never JSON numbers, read exactly with ``Money.parse``. Refusals are RFC 9457
problem documents with the refusing error's ``code``, as in Kleline's own API. There is no authentication: this is
a development and test tool that listens on loopback by default.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import FastAPI, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException

from kleline.banks.sandbox import CardholderBalance
from kleline.banksim.errors import InvalidRequest
from kleline.banksim.simulator import AccountView, BankSimulator
from kleline.errors import KlelineError
from kleline.money import Money, UnknownCurrency, currency_exponent
from kleline.sepa import DEFAULT_MAX_BYTES

__all__ = ["create_app"]

XML = "application/xml"
Currency = Annotated[str, Query(description="ISO 4217 code")]


class AccountChange(BaseModel):
    """Test set-up of an account: a new balance, and/or closed or reopened."""

    model_config = ConfigDict(extra="forbid", strict=True)
    balance: str | None = None
    currency: str = "EUR"
    closed: bool | None = None


class CardBalanceChange(BaseModel):
    """Test set-up of a cardholder: a new posted balance."""

    model_config = ConfigDict(extra="forbid", strict=True)
    balance: str
    currency: str = "EUR"


def create_app(simulator: BankSimulator, *, max_file_bytes: int = DEFAULT_MAX_BYTES) -> FastAPI:
    """The HTTP interface over ``simulator``; a file above ``max_file_bytes`` is refused (413) unread."""
    app = FastAPI(title="Kleline simulated banks", docs_url=None, redoc_url=None, openapi_url=None)
    _install_problems(app)

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok", "acquirer_iban": simulator.acquirer_iban}

    @app.post("/files", status_code=201)
    async def receive_file(request: Request) -> JSONResponse:
        body = await _body(request, max_file_bytes)
        receipt, new = await run_in_threadpool(simulator.receive_file, body)
        total = receipt.total
        content = {
            "id": receipt.id,
            "kind": receipt.kind,
            "message_id": receipt.message_id,
            "account_iban": receipt.account_iban,
            "transactions": receipt.transactions,
            "total": _amount(total) if total else None,
            "currency": total.currency if total else None,
            "returns": [{"end_to_end_id": item.end_to_end_id, "reason": item.reason} for item in receipt.returns],
        }
        return JSONResponse(content, status_code=201 if new else 200)

    @app.post("/statements/{iban}", status_code=201)
    def close_statement(iban: str, currency: Currency = "EUR") -> Response:
        issued = simulator.close_statement(iban, _currency(currency))
        account = issued.statement.account_iban
        headers = {
            "Location": f"/statements/{account}/{issued.sequence}?currency={issued.statement.currency}",
            "X-Statement-Sequence": str(issued.sequence),
        }
        return Response(issued.xml, status_code=201, media_type=XML, headers=headers)

    @app.get("/statements/{iban}/{sequence}")
    def statement(iban: str, sequence: int, currency: Currency = "EUR") -> Response:
        issued = simulator.statement(iban, sequence, _currency(currency))
        return Response(issued.xml, media_type=XML, headers={"X-Statement-Sequence": str(issued.sequence)})

    @app.get("/accounts/{iban}")
    def account(iban: str, currency: Currency = "EUR") -> dict[str, Any]:
        return _account(simulator.account(iban, _currency(currency)))

    @app.post("/accounts/{iban}")
    def update_account(iban: str, change: AccountChange) -> dict[str, Any]:
        currency = _currency(change.currency)
        balance = _parse(change.balance, currency) if change.balance is not None else None
        return _account(simulator.update_account(iban, balance=balance, closed=change.closed, currency=currency))

    @app.get("/cards/{number}/balance")
    def card_balance(number: str, currency: Currency = "EUR") -> dict[str, str]:
        return _card(simulator.card_balance(number, _currency(currency)))

    @app.post("/cards/{number}/balance")
    def set_card_balance(number: str, change: CardBalanceChange) -> dict[str, str]:
        return _card(simulator.set_card_balance(number, _parse(change.balance, _currency(change.currency))))

    @app.get("/banks")
    def banks() -> dict[str, list[str]]:
        return {bic: list(ibans) for bic, ibans in simulator.banks().items()}

    @app.get("/trial-balance")
    def trial_balance() -> dict[str, str]:
        return {currency: _amount(total) for currency, total in simulator.trial_balance().items()}

    return app


async def _body(request: Request, limit: int) -> bytes:
    """The request body, refused (413) beyond ``limit`` bytes without reading all of it."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _TooLarge(limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _TooLarge(limit)
        chunks.append(chunk)
    return b"".join(chunks)


class _TooLarge(KlelineError):
    code = "file_too_large"
    status = 413

    def __init__(self, limit: int) -> None:
        super().__init__(f"a file is at most {limit} bytes")


def _currency(text: str) -> str:
    try:
        currency_exponent(text)
    except UnknownCurrency as error:
        raise InvalidRequest(str(error), param="currency") from None
    return text


def _parse(text: str, currency: str) -> Money:
    try:
        return Money.parse(text, currency)
    except ValueError as error:
        raise InvalidRequest(f"balance: {error}", param="balance") from None


def _amount(money: Money) -> str:
    return f"{money.to_decimal():f}"


def _account(view: AccountView) -> dict[str, Any]:
    return {
        "iban": view.iban,
        "bic": view.bic,
        "name": view.name,
        "currency": view.balance.currency,
        "balance": _amount(view.balance),
        "closed": view.closed,
        "statements": view.statements,
    }


def _card(balance: CardholderBalance) -> dict[str, str]:
    return {
        "currency": balance.posted.currency,
        "posted": _amount(balance.posted),
        "held": _amount(balance.held),
        "available": _amount(balance.available),
    }


def _problem(status: int, code: str, detail: str, **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"https://kleline.org/problems/{code}",
        "title": code.replace("_", " ").capitalize(),
    }
    body |= {"status": status, "detail": detail, "code": code}
    body |= {key: value for key, value in extra.items() if value is not None}
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


def _install_problems(app: FastAPI) -> None:
    async def refused(_request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, KlelineError)
        return _problem(error.status, error.code, error.detail, param=error.param, **error.extensions())

    async def invalid(_request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RequestValidationError)
        first = error.errors()[0] if error.errors() else {}
        where = ".".join(str(part) for part in first.get("loc", ()) if part not in ("body", "query", "path"))
        return _problem(400, "validation_error", f"{where or 'request'}: {first.get('msg', 'invalid')}", param=where)

    async def http_error(_request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, HTTPException)
        return _problem(error.status_code, "not_found" if error.status_code == 404 else "http_error", str(error.detail))

    app.add_exception_handler(KlelineError, refused)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(HTTPException, http_error)

"""Opening a wallet and signing in: customers and their tokens."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from kleline.api.auth import BearerToken, CustomerId, kleline_of
from kleline.clock import to_rfc3339
from kleline.ratelimit import SIGN_IN, SIGN_UP
from kleline.wallet.model import Customer

router = APIRouter(prefix="/v1", tags=["customers"])


# Documented on the routes that take no key (the problem body is api.openapi's business).
RATE_LIMITED: dict[int | str, dict[str, object]] = {
    429: {
        "description": "`rate_limited`: this client address made too many attempts; `Retry-After` says when to "
        "come back",
        "headers": {"Retry-After": {"schema": {"type": "integer", "minimum": 1}, "description": "seconds to wait"}},
    }
}


def client_host(request: Request) -> str | None:
    """The caller's address, as the server saw it (the rate limits count by it)."""
    return request.client.host if request.client else None


class SignUp(BaseModel):
    """A new wallet: the password is a passphrase of at least 12 characters."""

    email: str = Field(max_length=320, examples=["ada@example.org"])
    password: str = Field(min_length=12, max_length=1024)
    name: str = Field(min_length=1, max_length=200)


class Credentials(BaseModel):
    """Email and password."""

    email: str = Field(max_length=320)
    password: str = Field(max_length=1024)


class CustomerOut(BaseModel):
    """A wallet holder."""

    id: str
    email: str
    name: str
    kyc_level: str
    created_at: str


class TokenOut(BaseModel):
    """A customer token (``ct_...``): send it as ``Authorization: Bearer``; it is shown only here."""

    token: str
    expires_at: str


def customer_out(customer: Customer) -> CustomerOut:
    """The API view of a customer."""
    return CustomerOut(
        id=customer.id,
        email=customer.email,
        name=customer.name,
        kyc_level=customer.kyc_level,
        created_at=to_rfc3339(customer.created_at),
    )


@router.post("/customers", status_code=201, response_model=CustomerOut, responses=RATE_LIMITED)
def sign_up(body: SignUp, request: Request) -> CustomerOut:
    """Open a wallet with an empty EUR purse. Each client address may try a few times per hour."""
    kleline_of(request).rate_limits.take(SIGN_UP, client_host(request))
    return customer_out(kleline_of(request).customers.sign_up(body.email, body.password, body.name))


_SIGN_IN_ERRORS: dict[int | str, dict[str, object]] = {
    401: {
        "description": "`invalid_credentials`: the email and password do not match, or sign-in is locked for a while "
        "after too many failures (one answer for both, so that it tells nobody whether the email exists)"
    },
    **RATE_LIMITED,
}


@router.post("/auth/token", status_code=201, response_model=TokenOut, responses=_SIGN_IN_ERRORS)
def sign_in(body: Credentials, request: Request) -> TokenOut:
    """Sign in: a customer token with an expiry. Ten failures in a row lock sign-in for thirty minutes, with the
    same answer as a wrong password; each client address may try a few times per minute."""
    kleline_of(request).rate_limits.take(SIGN_IN, client_host(request))
    tokens = kleline_of(request).customers.sign_in(body.email, body.password)
    kleline_of(request).sign_ins.record(
        tokens.customer_id, "password", "api", request.headers.get("user-agent"), client_host(request)
    )
    return TokenOut(token=tokens.token, expires_at=to_rfc3339(tokens.expires_at))


@router.delete("/auth/token", status_code=204, response_class=Response)
def sign_out(request: Request, _customer: CustomerId, token: BearerToken) -> Response:
    """Sign out: the token presented is revoked."""
    kleline_of(request).customers.sign_out(token)
    return Response(status_code=204)

"""Who is calling: ``Authorization: Bearer <key>``, where the key's prefix says its kind (op_, sk_, ct_)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from kleline.bootstrap import Kleline
from kleline.errors import KlelineError
from kleline.operators.service import InvalidKey, authenticate

__all__ = [
    "BearerToken",
    "CustomerId",
    "Forbidden",
    "OperatorId",
    "kleline_of",
    "require_customer",
    "require_operator",
]


class Forbidden(KlelineError):
    """The key is valid but of a kind that may not make this call."""

    code = "forbidden"
    status = 403


def kleline_of(request: Request) -> Kleline:
    """The application's composition root."""
    kleline: Kleline = request.app.state.kleline
    return kleline


_bearer_scheme = HTTPBearer(
    auto_error=False, description="An API key: operator op_..., merchant sk_... or customer ct_..."
)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer_scheme)]


def _bearer(credentials: HTTPAuthorizationCredentials | None) -> str:
    if credentials is None or not credentials.credentials.strip():
        raise InvalidKey("send Authorization: Bearer <key>")
    return credentials.credentials.strip()


def require_operator(request: Request, credentials: Credentials) -> int:
    """The operator key's id; 401 without a valid key, 403 for another kind of key."""
    token = _bearer(credentials)
    if token.startswith(("sk_", "ct_")):
        raise Forbidden("this call is for operators")
    return authenticate(kleline_of(request).db, token)


def require_customer(request: Request, credentials: Credentials) -> str:
    """The customer id behind the token; 401 without a valid token, 403 for another kind of key."""
    token = _bearer(credentials)
    if token.startswith(("sk_", "op_")):
        raise Forbidden("this call is for customers")
    return kleline_of(request).customers.authenticate(token)


def bearer_token(credentials: Credentials) -> str:
    """The raw bearer token (for logout, which revokes exactly the token presented)."""
    return _bearer(credentials)


OperatorId = Annotated[int, Depends(require_operator)]
CustomerId = Annotated[str, Depends(require_customer)]
BearerToken = Annotated[str, Depends(bearer_token)]

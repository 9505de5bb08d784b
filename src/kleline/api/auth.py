"""Who is calling: ``Authorization: Bearer <key>``, where the key's prefix says its kind (op_, sk_, ct_)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Literal

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from kleline.bootstrap import Kleline
from kleline.errors import KlelineError
from kleline.operators.service import InvalidKey, authenticate_actor
from kleline.staff.actor import StaffActor
from kleline.staff.roles import Power

__all__ = [
    "AnyParty",
    "BearerToken",
    "Caller",
    "Credentials",
    "CustomerId",
    "CustomerVerifier",
    "Exporter",
    "Forbidden",
    "MaybeOperator",
    "MerchantDecider",
    "MerchantId",
    "MoneyRunner",
    "OperatorOrMerchant",
    "Party",
    "ReadingOperator",
    "ReceivablesManager",
    "SettingsManager",
    "StaffManager",
    "SuspenseResolver",
    "customer_token",
    "kleline_of",
    "merchant_secret",
    "optional_operator",
    "power_of",
    "require_customer",
    "require_merchant",
    "require_operator_or_merchant",
    "require_party",
    "require_power",
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


def _operator(request: Request, token: str) -> StaffActor:
    """The live operator key ``token`` as an actor, with the caller's address (401 for a dead key)."""
    return authenticate_actor(kleline_of(request).db, token, request.client.host if request.client else None)


@cache
def require_power(power: Power) -> Callable[[Request, HTTPAuthorizationCredentials | None], StaffActor]:
    """A dependency: the operator key as an actor whose role grants ``power``; 401 without a valid key, 403 for
    another kind of key or a role without that power (checked before the route runs: nothing is written). One
    function per power (cached), so that the OpenAPI document can tell which operations it guards."""

    def operator_with_power(request: Request, credentials: Credentials) -> StaffActor:
        token = _bearer(credentials)
        if token.startswith(("sk_", "ct_")):
            raise Forbidden("this call is for operators")
        actor = _operator(request, token)
        actor.require(power)
        return actor

    operator_with_power.power = power  # type: ignore[attr-defined]  # read by power_of (OpenAPI, tests)
    return operator_with_power


def power_of(dependency: Callable[..., object]) -> Power | None:
    """The power a ``require_power`` dependency checks; None for any other callable."""
    power = getattr(dependency, "power", None)
    return power if isinstance(power, Power) else None


def customer_token(credentials: HTTPAuthorizationCredentials | None) -> str:
    """A bearer that may be a customer token (401 without one, 403 for another kind of key), not yet checked: for
    a route that checks it inside its own transaction (``Customers.authenticate(token, tx=...)``)."""
    token = _bearer(credentials)
    if token.startswith(("sk_", "op_")):
        raise Forbidden("this call is for customers")
    return token


def merchant_secret(credentials: HTTPAuthorizationCredentials | None) -> str:
    """A bearer that may be a merchant secret key (401 without one, 403 for another kind of key), not yet checked:
    for a route that checks it inside its own transaction (``Merchants.authenticate_active``)."""
    token = _bearer(credentials)
    if token.startswith(("op_", "ct_")):
        raise Forbidden("this call is for merchants")
    return token


def require_customer(request: Request, credentials: Credentials) -> str:
    """The customer id behind the token; 401 without a valid token, 403 for another kind of key."""
    return kleline_of(request).customers.authenticate(customer_token(credentials))


def require_merchant(request: Request, credentials: Credentials) -> str:
    """The merchant id behind the secret key; 401 without a valid key, 403 for another kind of key."""
    return kleline_of(request).merchants.authenticate(merchant_secret(credentials))


@dataclass(frozen=True, slots=True)
class Caller:
    """Who made a call that operators and merchants may both make: ``merchant_id`` is None for an operator, whose
    key is then ``actor`` (its role checked for ``Power.READ`` already; a write checks its own power)."""

    merchant_id: str | None
    actor: StaffActor | None = None

    @property
    def is_operator(self) -> bool:
        """True for an operator key."""
        return self.merchant_id is None

    def require(self, power: Power) -> None:
        """Refuse (403 ``forbidden``) an operator whose role lacks ``power``; a merchant acts for itself."""
        if self.actor is not None:
            self.actor.require(power)

    def may_act_for(self, merchant_id: str) -> bool:
        """True for an operator, or for the merchant itself (another merchant is answered 404: reveal nothing)."""
        return self.merchant_id is None or self.merchant_id == merchant_id


def require_operator_or_merchant(request: Request, credentials: Credentials) -> Caller:
    """An operator whose role may read, or a merchant; 401 without a valid key, 403 for a customer token or a role
    without ``Power.READ``."""
    token = _bearer(credentials)
    if token.startswith("ct_"):
        raise Forbidden("this call is for operators and merchants")
    if token.startswith("sk_"):
        return Caller(kleline_of(request).merchants.authenticate(token))
    actor = _operator(request, token)
    actor.require(Power.READ)
    return Caller(None, actor)


@dataclass(frozen=True, slots=True)
class AnyParty:
    """Any authenticated caller: ``kind`` says which key it used, ``id`` whose it is (the operator key's id, and
    ``actor`` the key acting in its role)."""

    kind: Literal["operator", "merchant", "customer"]
    id: str
    actor: StaffActor | None = None

    def is_party_to(self, merchant_id: str, customer_id: str | None) -> bool:
        """True for an operator, or for the merchant or the customer of an object (anyone else is answered 404)."""
        if self.kind == "merchant":
            return self.id == merchant_id
        if self.kind == "customer":
            return self.id == customer_id
        return True


def require_party(request: Request, credentials: Credentials) -> AnyParty:
    """Whoever calls, by the kind of key; 401 without a valid key or token. The routes that take any party only
    read, so an operator's role must grant ``Power.READ`` (403 otherwise)."""
    token = _bearer(credentials)
    kleline = kleline_of(request)
    if token.startswith("sk_"):
        return AnyParty("merchant", kleline.merchants.authenticate(token))
    if token.startswith("ct_"):
        return AnyParty("customer", kleline.customers.authenticate(token))
    if token.startswith("op_"):
        actor = _operator(request, token)
        actor.require(Power.READ)
        return AnyParty("operator", actor.id, actor)
    raise InvalidKey("send Authorization: Bearer <key> (an operator, merchant or customer key)")


def optional_operator(request: Request, credentials: Credentials) -> StaffActor | None:
    """The operator behind a valid ``op_`` key (401 for a dead one), to be checked for the power its act needs;
    None for anyone else, with or without a key: the public."""
    if credentials is None or not credentials.credentials.strip().startswith("op_"):
        return None
    return _operator(request, credentials.credentials.strip())


def bearer_token(credentials: Credentials) -> str:
    """The raw bearer token (for logout, which revokes exactly the token presented)."""
    return _bearer(credentials)


# The operator acting in a role that grants one power: one alias per power, for the routes' signatures.
ReadingOperator = Annotated[StaffActor, Depends(require_power(Power.READ))]
StaffManager = Annotated[StaffActor, Depends(require_power(Power.MANAGE_STAFF))]
SettingsManager = Annotated[StaffActor, Depends(require_power(Power.MANAGE_SETTINGS))]
MerchantDecider = Annotated[StaffActor, Depends(require_power(Power.DECIDE_MERCHANTS))]
CustomerVerifier = Annotated[StaffActor, Depends(require_power(Power.VERIFY_CUSTOMERS))]
MoneyRunner = Annotated[StaffActor, Depends(require_power(Power.RUN_MONEY))]
SuspenseResolver = Annotated[StaffActor, Depends(require_power(Power.RESOLVE_SUSPENSE))]
ReceivablesManager = Annotated[StaffActor, Depends(require_power(Power.MANAGE_RECEIVABLES))]
Exporter = Annotated[StaffActor, Depends(require_power(Power.EXPORT))]
CustomerId = Annotated[str, Depends(require_customer)]
MerchantId = Annotated[str, Depends(require_merchant)]
OperatorOrMerchant = Annotated[Caller, Depends(require_operator_or_merchant)]
MaybeOperator = Annotated[StaffActor | None, Depends(optional_operator)]
BearerToken = Annotated[str, Depends(bearer_token)]
Party = Annotated[AnyParty, Depends(require_party)]

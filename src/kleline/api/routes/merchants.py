"""Merchants: self-registration, approval, refusal and suspension by operators, and secret keys.

Who sees what: an operator sees every merchant in full; a merchant sees itself, with its IBAN masked (a leaked
key must not also leak bank details), and another merchant's id is answered 404, as if it did not exist.

An operator key acts in a role (``kleline.staff.roles``): reading needs ``read``; approving, refusing, suspending and
a merchant's keys need ``decide_merchants``; its profile (what the malls show) ``manage_settings``. Each operator write
is recorded in the staff audit trail with the act.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field, StrictInt

from kleline.api.auth import (
    Caller,
    Forbidden,
    MaybeOperator,
    MerchantDecider,
    OperatorOrMerchant,
    ReadingOperator,
    kleline_of,
)
from kleline.clock import to_rfc3339
from kleline.errors import ValidationError
from kleline.merchants import Merchant, MerchantKey, UnknownMerchant, mask_iban
from kleline.merchants.service import SEARCH_LIMIT
from kleline.staff.roles import Power

router = APIRouter(prefix="/v1/merchants", tags=["merchants"])


class MerchantIn(BaseModel):
    """A shop's registration; IBAN, BIC, SIRET and VAT number are checked, and the BIC is derived from the IBAN when
    omitted. Only an operator may set ``fee_bps`` (300 to 400; 350 by default)."""

    name: str = Field(max_length=200, description="legal name", examples=["Librairie du Bac SARL"])
    email: str = Field(max_length=320, examples=["contact@librairie-du-bac.fr"])
    iban: str = Field(max_length=64, examples=["FR1420041010050500013M02606"])
    bic: str | None = Field(default=None, max_length=20, examples=["PSSTFRPPPAR"])
    siret: str | None = Field(default=None, max_length=32, examples=["73282932000074"])
    vat_number: str | None = Field(
        default=None,
        max_length=32,
        description="intra-community VAT number with its country code (`invalid_vat_number` when malformed, or, "
        "for a French one, not the SIRET's company's)",
        examples=["FR44732829320"],
    )
    contact_name: str | None = Field(
        default=None, max_length=200, description="the person Kleline calls about the shop", examples=["Ada Martin"]
    )
    contact_phone: str | None = Field(
        default=None,
        max_length=40,
        description="their telephone number with its country code (a French one may be written 01 23 45 67 89); "
        "kept in E.164 form",
        examples=["+33 1 23 45 67 89"],
    )
    website: str | None = Field(default=None, max_length=2048, examples=["https://librairie-du-bac.fr"])
    category: str | None = Field(default=None, max_length=40, examples=["books"])
    description: str | None = Field(
        default=None,
        max_length=500,
        description="what the shop sells, in a sentence, shown in the malls' directory",
        examples=["New and second-hand books, French and foreign literature"],
    )
    mall_ids: list[Annotated[str, Field(max_length=40)]] = Field(default_factory=list, max_length=20)
    fee_bps: StrictInt | None = Field(default=None, description="operators only: commission in basis points")


class MerchantOut(BaseModel):
    """A merchant. ``iban`` is in full for operators and masked (country and last four) for the merchant."""

    id: str
    name: str
    email: str
    website: str | None
    category: str | None
    description: str | None
    siret: str | None
    vat_number: str | None
    contact_name: str | None
    contact_phone: str | None = Field(description="E.164, such as +33123456789")
    iban: str
    iban_last4: str
    bic: str
    fee_bps: int
    intro_fee_bps: int = Field(
        description="the introduction fee in basis points, on payments of customers the merchant's offers introduced"
    )
    status: Literal["pending", "active", "suspended", "refused"]
    status_reason: str | None = Field(
        description="why an operator refused or suspended the merchant, as the merchant reads it; null otherwise"
    )
    mall_ids: list[str]
    created_at: str
    approved_at: str | None = Field(description="when an operator first approved the merchant; null while pending")


class RefusalIn(BaseModel):
    """Why the application is refused, in words the merchant will read on its dashboard."""

    reason: str = Field(
        max_length=500, examples=["The SIRET belongs to a company that ceased trading: send us your new one"]
    )


class SuspensionIn(BaseModel):
    """Why the merchant is suspended, in words it will read on its dashboard (optional)."""

    reason: str | None = Field(default=None, max_length=500, examples=["Unusual refund rate: we are looking into it"])


class ProfileIn(BaseModel):
    """What the malls' pages show of a shop: a field left out is kept, a field set to null is cleared."""

    description: str | None = Field(default=None, max_length=500, examples=["Cheeses from small farms, cut to order"])
    website: str | None = Field(default=None, max_length=2048, examples=["https://fromagerie.example"])


class RegisteredOut(MerchantOut):
    """A merchant just registered, with its first secret key: shown only here, keep it safe."""

    secret_key: str


class MerchantList(BaseModel):
    """A page of merchants, newest first."""

    data: list[MerchantOut]
    has_more: bool


class KeyOut(BaseModel):
    """A secret key as it is listed: its id and last four characters."""

    id: str
    last4: str
    created_at: str
    revoked_at: str | None


class NewKeyOut(KeyOut):
    """A new secret key (``sk_...``): shown only here; send it as ``Authorization: Bearer``."""

    secret_key: str


class KeyList(BaseModel):
    """A merchant's keys, newest first."""

    data: list[KeyOut]
    has_more: bool


def merchant_out(merchant: Merchant, *, full_iban: bool) -> MerchantOut:
    """The API view of a merchant."""
    return MerchantOut(
        id=merchant.id,
        name=merchant.name,
        email=merchant.email,
        website=merchant.website,
        category=merchant.category,
        description=merchant.description,
        siret=merchant.siret,
        vat_number=merchant.vat_number,
        contact_name=merchant.contact_name,
        contact_phone=merchant.contact_phone,
        iban=merchant.iban if full_iban else mask_iban(merchant.iban),
        iban_last4=merchant.iban[-4:],
        bic=merchant.bic,
        fee_bps=merchant.fee_bps,
        intro_fee_bps=merchant.intro_fee_bps,
        status=merchant.status,
        status_reason=merchant.status_reason,
        mall_ids=list(merchant.mall_ids),
        created_at=to_rfc3339(merchant.created_at),
        approved_at=None if merchant.approved_at is None else to_rfc3339(merchant.approved_at),
    )


def key_out(key: MerchantKey) -> KeyOut:
    """The API view of a key."""
    return KeyOut(
        id=key.id,
        last4=key.last4,
        created_at=to_rfc3339(key.created_at),
        revoked_at=None if key.revoked_at is None else to_rfc3339(key.revoked_at),
    )


def _visible(caller: Caller, merchant_id: str) -> None:
    if not caller.may_act_for(merchant_id):
        raise UnknownMerchant(f"no merchant {merchant_id}")


@router.post(
    "",
    status_code=201,
    response_model=RegisteredOut,
    responses={403: {"description": "`forbidden`: only an operator whose role decides merchants may set `fee_bps`"}},
)
def register(body: MerchantIn, request: Request, operator: MaybeOperator) -> RegisteredOut:
    """Register a shop: anyone may (it waits, ``pending``, for an operator's approval); the answer carries its
    first secret key, shown only here. An operator's registration is recorded in the staff audit trail."""
    if body.fee_bps is not None:
        if operator is None:
            raise Forbidden("only an operator may set fee_bps", param="fee_bps")
        operator.require(Power.DECIDE_MERCHANTS)
    merchant, secret = kleline_of(request).merchants.register(
        name=body.name,
        email=body.email,
        iban=body.iban,
        bic=body.bic,
        siret=body.siret,
        website=body.website,
        category=body.category,
        mall_ids=body.mall_ids,
        fee_bps=body.fee_bps,
        description=body.description,
        vat_number=body.vat_number,
        contact_name=body.contact_name,
        contact_phone=body.contact_phone,
        actor=operator,
    )
    view = merchant_out(merchant, full_iban=operator is not None and operator.may(Power.READ))
    return RegisteredOut(**view.model_dump(), secret_key=secret)


@router.get("", response_model=MerchantList)
def list_merchants(
    request: Request,
    _operator: ReadingOperator,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    starting_after: Annotated[str | None, Query(max_length=40, description="id of the last merchant seen")] = None,
    status: Annotated[Literal["pending", "active", "suspended", "refused"] | None, Query()] = None,
    query: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=SEARCH_LIMIT,
            description="search instead: merchants whose name holds it (in either case), or whose id, SIRET or email "
            "begins with it, by name (one page: without `starting_after` or `status`)",
        ),
    ] = None,
) -> MerchantList:
    """Every merchant, newest first (operators); ``status=pending`` is the queue awaiting approval; ``query``
    searches them."""
    if query is not None:
        if starting_after is not None or status is not None:
            raise ValidationError("query: a search is one page, without starting_after or status", param="query")
        found, more = kleline_of(request).merchants.search(query, limit=limit)
        return MerchantList(data=[merchant_out(m, full_iban=True) for m in found], has_more=more)
    merchants = kleline_of(request).merchants.list(limit=limit + 1, starting_after=starting_after, status=status)
    return MerchantList(
        data=[merchant_out(m, full_iban=True) for m in merchants[:limit]], has_more=len(merchants) > limit
    )


@router.get("/{merchant_id}", response_model=MerchantOut)
def get_merchant(merchant_id: str, request: Request, caller: OperatorOrMerchant) -> MerchantOut:
    """One merchant (an operator, or the merchant itself)."""
    _visible(caller, merchant_id)
    return merchant_out(kleline_of(request).merchants.get(merchant_id), full_iban=caller.is_operator)


@router.patch("/{merchant_id}", response_model=MerchantOut)
def update_profile(merchant_id: str, body: ProfileIn, request: Request, caller: OperatorOrMerchant) -> MerchantOut:
    """Change what the malls' pages show of the shop, ``description`` and ``website`` (an operator whose role
    manages settings, or the merchant itself); a field left out is kept."""
    caller.require(Power.MANAGE_SETTINGS)
    _visible(caller, merchant_id)
    merchants = kleline_of(request).merchants
    current = merchants.get(merchant_id)
    given = body.model_fields_set
    updated = merchants.describe(
        merchant_id,
        description=body.description if "description" in given else current.description,
        website=body.website if "website" in given else current.website,
        actor=caller.actor,
    )
    return merchant_out(updated, full_iban=caller.is_operator)


_TRANSITION = (
    "`invalid_status_transition`: the merchant's status does not allow this (`merchant_status` says which it is)"
)


@router.post("/{merchant_id}/approve", response_model=MerchantOut, responses={409: {"description": _TRANSITION}})
def approve(merchant_id: str, request: Request, operator: MerchantDecider) -> MerchantOut:
    """Make a pending (or suspended, or refused) merchant active: it may take payments, and its balance account
    opens; a refusal's or suspension's reason goes."""
    return merchant_out(kleline_of(request).merchants.approve(merchant_id, actor=operator), full_iban=True)


@router.post("/{merchant_id}/suspend", response_model=MerchantOut, responses={409: {"description": _TRANSITION}})
def suspend(
    merchant_id: str, request: Request, operator: MerchantDecider, body: SuspensionIn | None = None
) -> MerchantOut:
    """Stop an active merchant from taking payments, with a ``reason`` it reads on its dashboard (optional; the
    body may be left out); approving it again reactivates it."""
    reason = None if body is None else body.reason
    return merchant_out(kleline_of(request).merchants.suspend(merchant_id, reason, actor=operator), full_iban=True)


@router.post("/{merchant_id}/refuse", response_model=MerchantOut, responses={409: {"description": _TRANSITION}})
def refuse(merchant_id: str, body: RefusalIn, request: Request, operator: MerchantDecider) -> MerchantOut:
    """Refuse a pending merchant's application, saying why: the merchant reads ``reason`` on its dashboard and may
    take no payment. An operator who reconsiders approves it later."""
    return merchant_out(kleline_of(request).merchants.refuse(merchant_id, body.reason, actor=operator), full_iban=True)


@router.post("/{merchant_id}/keys", status_code=201, response_model=NewKeyOut)
def create_key(merchant_id: str, request: Request, caller: OperatorOrMerchant) -> NewKeyOut:
    """A new secret key (an operator whose role decides merchants, or the merchant itself); the secret is shown
    only here."""
    caller.require(Power.DECIDE_MERCHANTS)
    _visible(caller, merchant_id)
    new = kleline_of(request).merchants.create_key(merchant_id, actor=caller.actor)
    return NewKeyOut(**key_out(new.key).model_dump(), secret_key=new.secret)


@router.get("/{merchant_id}/keys", response_model=KeyList)
def list_keys(merchant_id: str, request: Request, caller: OperatorOrMerchant) -> KeyList:
    """The merchant's keys, live and revoked (never their secrets)."""
    _visible(caller, merchant_id)
    return KeyList(data=[key_out(k) for k in kleline_of(request).merchants.keys(merchant_id)], has_more=False)


@router.delete("/{merchant_id}/keys/{key_id}", status_code=204, response_class=Response)
def revoke_key(merchant_id: str, key_id: str, request: Request, caller: OperatorOrMerchant) -> Response:
    """Revoke a key (an operator whose role decides merchants, or the merchant itself): from now on it is answered
    401."""
    caller.require(Power.DECIDE_MERCHANTS)
    _visible(caller, merchant_id)
    kleline_of(request).merchants.revoke_key(merchant_id, key_id, actor=caller.actor)
    return Response(status_code=204)

"""Signed receipts: Kleline's public verification keys, and a payment's or refund's receipt for its parties."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from kleline.api.auth import Party, kleline_of
from kleline.errors import NotFound

router = APIRouter(prefix="/v1", tags=["receipts"])


class KeyOut(BaseModel):
    """One Ed25519 verification key; ``active`` signs new receipts, the others signed older ones."""

    id: str = Field(examples=["k1"])
    algorithm: Literal["Ed25519"]
    public_key: str = Field(
        description="the 32-byte Ed25519 public key in unpadded base64url (RFC 4648 section 5), as JWK's 'x'",
        examples=["CIO1ObAcEFqRuKkRyJoDtdqzoEcOBB31wsIN4YBP8vI"],
    )
    active: bool


class KeyList(BaseModel):
    """Every key a receipt may be signed with."""

    data: list[KeyOut]
    has_more: bool


class MerchantParty(BaseModel):
    """The merchant paid (or refunding)."""

    id: str
    name: str


class CustomerParty(BaseModel):
    """The customer who paid (or is refunded)."""

    id: str


class AmountOut(BaseModel):
    """An amount in minor units."""

    amount: int
    currency: str


class SignatureOut(BaseModel):
    """Ed25519 over the canonical bytes of the receipt without this member (sorted keys, no whitespace, UTF-8:
    RFC 8785), in unpadded base64url."""

    key_id: str
    algorithm: Literal["Ed25519"]
    value: str


class ReceiptOut(BaseModel):
    """A signed receipt; check it offline with ``kleline receipt verify FILE`` against ``GET /v1/keys``."""

    receipt_id: str
    kind: Literal["payment", "refund"]
    object_id: str
    payment_id: str
    merchant: MerchantParty
    customer: CustomerParty
    amount: AmountOut
    commission: AmountOut = Field(description="Kleline's commission kept (payment) or returned (refund)")
    issued_at: str
    issuer: Literal["Kleline"]
    signature: SignatureOut


@router.get("/keys", response_model=KeyList)
def list_keys(request: Request) -> KeyList:
    """Kleline's receipt verification keys (public: anyone may check a receipt)."""
    return KeyList.model_validate(kleline_of(request).receipts.public_keys().to_json())


@router.get("/receipts/{object_id}", response_model=ReceiptOut)
def get_receipt(object_id: str, request: Request, party: Party) -> ReceiptOut:
    """The signed receipt of a captured payment (``pay_...``) or a refund (``re_...``): for the operator, the
    receipt's merchant and its customer; anyone else gets 404, as if there were no receipt."""
    # The key is checked (401) before anything is looked up, so that an invalid key learns nothing of what exists.
    receipts = kleline_of(request).receipts
    signed = receipts.get(object_id)
    if not party.is_party_to(signed.receipt.merchant_id, receipts.customer_of(object_id)):
        raise NotFound(f"no receipt for {object_id}")
    return ReceiptOut.model_validate(signed.to_json())

"""Bank accounts in the signed-in customer's wallet, for top-ups by SEPA direct debit: register (IBAN checked,
mandate signed), list, read, remove. The IBAN is shown masked, as a card shows only its last digits."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field, StrictBool, StrictStr

from kleline.api.auth import CustomerId, kleline_of
from kleline.clock import to_rfc3339
from kleline.collections import BankAccount

__all__ = ["BankAccountOut", "bank_account_out", "router"]

router = APIRouter(prefix="/v1/wallet", tags=["wallet"])


class NewBankAccount(BaseModel):
    """A bank account to top up the purse from, and the customer's acceptance of the SEPA direct debit mandate."""

    iban: StrictStr = Field(max_length=64, description="spaces between groups are ignored", examples=["FR76..."])
    holder_name: StrictStr = Field(max_length=200, description="the account holder, at most 70 characters")
    bic: StrictStr | None = Field(
        default=None, max_length=11, description="derived from the IBAN when absent (and left out if unknown)"
    )
    mandate_accepted: StrictBool = Field(
        description="true: the customer authorises Kleline to debit this account for the top-ups they ask for"
    )


class MandateOut(BaseModel):
    """The SEPA Core mandate that every collection from this account carries."""

    id: str = Field(description="the unique mandate reference", examples=["KLM3F9..."])
    signed_at: str
    scheme: Literal["CORE"] = "CORE"


class BankAccountOut(BaseModel):
    """A bank account in the wallet: its IBAN masked, its mandate."""

    id: str = Field(examples=["ba_4f1c..."])
    object: Literal["bank_account"] = "bank_account"
    iban: str = Field(description="country, check digits and last four characters", examples=["FR76*******0167"])
    bic: str | None
    holder_name: str
    mandate: MandateOut
    created_at: str


class BankAccountList(BaseModel):
    """The wallet's bank accounts, oldest first."""

    data: list[BankAccountOut]
    has_more: bool


def bank_account_out(account: BankAccount) -> BankAccountOut:
    """The API view of a bank account."""
    return BankAccountOut(
        id=account.id,
        iban=account.masked_iban,
        bic=account.bic,
        holder_name=account.holder_name,
        mandate=MandateOut(id=account.mandate_id, signed_at=to_rfc3339(account.mandate_signed_at)),
        created_at=to_rfc3339(account.created_at),
    )


@router.post("/bank-accounts", status_code=201, response_model=BankAccountOut)
def register_bank_account(body: NewBankAccount, request: Request, customer_id: CustomerId) -> BankAccountOut:
    """Register a bank account and sign its direct debit mandate (``mandate_accepted`` must be true)."""
    account = kleline_of(request).collections.bank_accounts.register(
        customer_id, body.iban, body.holder_name, bic=body.bic, mandate_accepted=body.mandate_accepted
    )
    return bank_account_out(account)


@router.get("/bank-accounts", response_model=BankAccountList)
def list_bank_accounts(request: Request, customer_id: CustomerId) -> BankAccountList:
    """The wallet's bank accounts."""
    accounts = kleline_of(request).collections.bank_accounts.list(customer_id)
    return BankAccountList(data=[bank_account_out(a) for a in accounts], has_more=False)


@router.get("/bank-accounts/{bank_account_id}", response_model=BankAccountOut)
def get_bank_account(bank_account_id: str, request: Request, customer_id: CustomerId) -> BankAccountOut:
    """One of the wallet's bank accounts; another customer's is not found, like an unknown one."""
    return bank_account_out(kleline_of(request).collections.bank_accounts.get(customer_id, bank_account_id))


@router.delete(
    "/bank-accounts/{bank_account_id}",
    status_code=204,
    response_class=Response,
    responses={404: {"description": "no such bank account"}, 409: {"description": "direct debits still to send"}},
)
def remove_bank_account(bank_account_id: str, request: Request, customer_id: CustomerId) -> Response:
    """Remove a bank account, ending its mandate; refused (``409 collections_pending``) while top-ups made from it
    wait to be collected."""
    kleline_of(request).collections.bank_accounts.remove(customer_id, bank_account_id)
    return Response(status_code=204)

"""Joining Kleline from its join form (``/join``): a shop's application and its first owner, in one transaction.

The application is a merchant's registration (``kleline.merchants``: the same checks as the API, schwifty for the
bank details, python-stdnum for the SIRET and the VAT number) with more fields required (``JOINING_REQUIRES``: a
person applying on a page can give what a program written before them could not). The person who applies becomes
the shop's first user, an owner, with the application's email address, the contact's name and the password chosen
(the customers' rules, as for every merchant user). The merchant (``pending``), its malls, the owner, the audit
record and the owner's first session are written in one transaction: nothing is kept of an application that fails,
and no shop is left without its owner.

The owner's session starts at the second-factor stage: an owner must set up an authenticator before reaching the
dashboard (``model.step_after_password``), and it has just typed its password.

No secret key is made, unlike an API registration: a secret made here would be shown on no page (a secret in a
sign-up's answer is one a browser may keep in its history). The owner creates keys from the dashboard's developers
page, where each is shown once, after a fresh second factor.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from kleline.clock import epoch_us
from kleline.db.engine import INTEGRITY_ERRORS, Database
from kleline.errors import KlelineError
from kleline.ids import new_id
from kleline.merchant_users import audit, store
from kleline.merchant_users.errors import AlreadyAMember
from kleline.merchant_users.model import MerchantUser
from kleline.merchant_users.sign_in import DashboardSession, MerchantSignIn
from kleline.merchants import Application, Merchant, Merchants
from kleline.wallet.customers import InvalidCustomer, hash_password, normalise_email, password_problems

__all__ = ["JOINING_REQUIRES", "Joined", "MerchantJoining"]

JOINING_REQUIRES: Final = frozenset(
    {"siret", "vat_number", "contact_name", "contact_phone", "website", "category", "description"}
)
"""The fields the join form requires beyond those every application needs (name, email, IBAN); BIC and malls stay
optional (a BIC is derived from a French IBAN; a shop may sell without a mall)."""

_TAKEN: Final = "this email address already has a Kleline dashboard account: sign in with it instead"


@dataclass(frozen=True, slots=True)
class Joined:
    """A shop that just joined: the merchant (``pending``), its owner, and the owner's session (the cookie's)."""

    merchant: Merchant
    owner: MerchantUser
    session: DashboardSession


class MerchantJoining:
    """The join form's use case: check an application and its owner's password, then record both."""

    def __init__(self, db: Database, merchants: Merchants, sign_in: MerchantSignIn) -> None:
        self._db = db
        self._merchants = merchants
        self._sign_in = sign_in

    def problems(self, application: Application, password: str) -> list[KlelineError]:
        """Every problem of the application and the password, in the form's order (the password last), for a
        form to show together; empty when the shop may join (an address taken meanwhile is ``join``'s to say)."""
        problems = self._merchants.application_problems(application, required=JOINING_REQUIRES)
        problems.extend(password_problems(password))
        if not any(problem.param == "email" for problem in problems) and self._taken(application.email):
            problems.append(AlreadyAMember(_TAKEN, param="email"))
        return problems

    def _taken(self, email: str) -> bool:
        try:
            address = normalise_email(email.strip())
        except InvalidCustomer:
            return False
        with self._db.transaction(write=False) as tx:
            return store.find_user_by_email(tx, address) is not None

    def join(
        self,
        application: Application,
        password: str,
        *,
        previous: DashboardSession | None = None,
        address: str | None = None,
    ) -> Joined:
        """Record the shop (``pending``, in the operator's queue) and its first owner, signed in up to the second
        factor in place of ``previous``; the first problem is raised, and nothing is recorded, otherwise."""
        problems = self.problems(application, password)
        if problems:
            raise problems[0]
        merchant = self._merchants.new_merchant(application, required=JOINING_REQUIRES)
        assert merchant.contact_name is not None, "JOINING_REQUIRES a contact"
        password_hash = hash_password(password)  # slow on purpose: before the transaction, not inside it
        owner = MerchantUser(
            id=new_id("mu"),
            merchant_id=merchant.id,
            email=normalise_email(merchant.email),
            name=merchant.contact_name,
            role="owner",
            refund_limit=None,
            authenticator=False,
            created_at=merchant.created_at,
        )
        at = epoch_us(merchant.created_at)
        try:
            with self._db.transaction() as tx:
                self._merchants.record_application(tx, merchant)
                if store.find_user_by_email(tx, owner.email) is not None:
                    raise AlreadyAMember(_TAKEN, param="email")
                store.insert_user(tx, owner, password_hash, at)
                detail = {"name": merchant.name, "siret": merchant.siret, "vat_number": merchant.vat_number}
                audit.record(
                    tx, merchant.id, owner.id, "merchant_joined", at, object_id=merchant.id, detail=detail,
                    address=address,
                )  # fmt: skip
                session = self._sign_in.open_for_new_owner(tx, owner, previous)
        except INTEGRITY_ERRORS:  # the same address, joining from two browsers at once
            raise AlreadyAMember(_TAKEN, param="email") from None
        return Joined(merchant, owner, session)

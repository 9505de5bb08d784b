"""Fixtures of the reconciliation stories: Kleline on a fresh database, and a world in which money really moved
(card payments, card top-ups, refunds, payouts, direct debits) through the services, so that a statement can name
it. Statements are written with ``kleline.sepa.write_statement``, as the simulated bank writes them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import pyotp
import pytest

from kleline.bootstrap import Kleline, build, open_system_accounts
from kleline.collections import Collection
from kleline.config import load_settings
from kleline.ledger.audit import trial_balance, verify
from kleline.money import Money
from kleline.payments.model import Payment, PaymentRequest, Refund
from kleline.sepa import BankStatement, Direction, StatementLine, write_statement
from kleline.settlement import Payout

from ...conftest import FakeClock
from ...operator_keys import OPERATOR

VISA = "4242424242424242"
MERCHANT_IBAN = "FR1420041010050500013M02606"
CUSTOMER_IBAN = "FR7630006000011234567890189"
BOOKED = date(2026, 1, 16)
SUSPENSE = "kleline:suspense"
RECEIVABLE = "card:visa:receivable"


@pytest.fixture
def kleline(database_url: str, clock: FakeClock) -> Iterator[Kleline]:
    """Kleline built on a migrated, empty database, with its own accounts open."""
    system = build(load_settings(database_url=database_url), clock=clock)
    open_system_accounts(system)
    try:
        yield system
    finally:
        system.close()


def eur(minor: int) -> Money:
    return Money(minor, "EUR")


def balance(kleline: Kleline, code: str) -> int:
    """An account's posted balance on its normal side."""
    return kleline.ledger.balance(code).posted


def balanced(kleline: Kleline) -> None:
    """The books balance and every hash chain verifies."""
    assert trial_balance(kleline.db).balanced
    assert verify(kleline.db).ok


def credit(ref: str, minor: int, e2e: str | None, *, reason: str | None = None, currency: str = "EUR") -> StatementLine:
    """Money into Kleline's account."""
    return StatementLine(ref, Money(minor, currency), Direction.CREDIT, BOOKED, e2e, reason, None, None, None)


def debit(ref: str, minor: int, e2e: str | None, *, reason: str | None = None) -> StatementLine:
    """Money out of Kleline's account."""
    return StatementLine(ref, eur(minor), Direction.DEBIT, BOOKED, e2e, reason, None, None, None)


def statement(kleline: Kleline, *lines: StatementLine, statement_id: str = "STMT-1", iban: str | None = None) -> bytes:
    """A camt.053 document of the safeguarding account (or of ``iban``) holding ``lines``."""
    moved = sum(line.amount.minor if line.direction is Direction.CREDIT else -line.amount.minor for line in lines)
    return write_statement(
        BankStatement(
            message_id=f"MSG-{statement_id}",
            statement_id=statement_id,
            account_iban=iban or kleline.own_account.iban,
            currency="EUR",
            created_at=datetime(2026, 1, 16, 18, 0, tzinfo=UTC),
            opening_balance=eur(0),
            closing_balance=eur(moved),
            lines=lines,
        )
    )


class World:
    """A merchant, a customer with a Visa card and a bank account, and the ways money reaches a statement."""

    def __init__(self, kleline: Kleline) -> None:
        self.kleline = kleline
        registered, _ = kleline.merchants.register(
            name="Librairie Kléber", email="shop@example.fr", iban=MERCHANT_IBAN, fee_bps=350
        )
        self.merchant = kleline.merchants.approve(registered.id, actor=OPERATOR).id
        self.customer = kleline.customers.sign_up("ada@example.org", "correct horse battery staple", "Ada").id
        self.card = kleline.cards.register(self.customer, VISA, 12, 2030, "123", "Ada Lovelace").id
        enrolment = kleline.strong_auth.enrol(self.customer, "ada@example.org")
        self._totp = pyotp.parse_uri(enrolment.provisioning_uri)
        self._bank_account: str | None = None

    def code(self) -> str:
        """The authenticator's code, in a time step of its own (a code is good once)."""
        clock = self.kleline.clock
        assert isinstance(clock, FakeClock)
        clock.advance(seconds=31)
        return str(self._totp.at(clock()))

    def card_payment(self, minor: int = 5_000) -> Payment:
        """A card payment captured at once; its authorisation's reference is what the network settles it under."""
        payment = self.kleline.payments.create(self.merchant, PaymentRequest(eur(minor)))
        paid = self.kleline.payments.confirm(payment.id, self.customer, "card", card_id=self.card)
        if paid.status == "requires_action":
            paid = self.kleline.payments.confirm(
                payment.id, self.customer, "card", card_id=self.card, sca_code=self.code()
            )
        assert paid.status == "succeeded" and paid.authorization_id is not None, paid
        return paid

    def refund(self, payment: Payment, minor: int) -> Refund:
        """A refund of a card payment, which the network later charges to Kleline's account."""
        refund = self.kleline.refunds.refund(self.merchant, payment.id, eur(minor))
        assert refund.status == "succeeded", refund
        return refund

    def card_top_up(self, minor: int = 2_000) -> tuple[str, str]:
        """A purse top-up by card: its id and its authorisation's reference."""
        top_up = self.kleline.top_ups.top_up(self.customer, eur(minor), self.card)
        if top_up.status == "requires_action":
            top_up = self.kleline.top_ups.top_up(
                self.customer, eur(minor), self.card, challenge_id=top_up.challenge_id, sca_code=self.code()
            )
        assert top_up.status == "succeeded", top_up
        with self.kleline.db.transaction(write=False) as tx:
            reference = tx.fetchone("SELECT authorization_id FROM top_ups WHERE id = :id", {"id": top_up.id})[0]
        return top_up.id, str(reference)

    def payout(self, minor: int = 5_000) -> Payout:
        """A card payment of ``minor``, then today's settlement run: the merchant's payout, in transit."""
        self.card_payment(minor)
        (payout,) = self.kleline.settlement.run_payouts(self.kleline.settlement.run(actor=OPERATOR).id)
        return payout

    def collection(self, minor: int = 2_000, *, submit: bool = True) -> Collection:
        """A purse top-up by direct debit, sent to the bank in a collection run (unless ``submit`` is False): its
        collection."""
        collections = self.kleline.collections
        if self._bank_account is None:
            account = collections.bank_accounts.register(self.customer, CUSTOMER_IBAN, "Ada", mandate_accepted=True)
            self._bank_account = account.id
        done = collections.top_ups.top_up(self.customer, eur(minor), self._bank_account)
        if done.top_up.status == "requires_action":
            challenge = done.top_up.challenge_id
            done = collections.top_ups.top_up(
                self.customer, eur(minor), self._bank_account, challenge_id=challenge, sca_code=self.code()
            )
        assert done.collection is not None, done
        if submit:
            collections.runs.run(actor=OPERATOR)
        return collections.get(done.collection.id)


@pytest.fixture
def world(kleline: Kleline) -> World:
    """A merchant and a customer with a card."""
    return World(kleline)

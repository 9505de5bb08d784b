"""A shop with payouts for the dashboard's payouts and statements tests (pages and browser): sales paid by a customer's
purse, refunds, and three daily settlement runs, the first payout paid then returned by the shop's bank, the second
paid, the third still on its way; a second shop with a payout of its own."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pyotp

from kleline.bootstrap import Kleline, open_system_accounts
from kleline.ledger import EntryRequest, NormalSide, credit, debit
from kleline.money import Money
from kleline.payments.model import PaymentRequest
from kleline.wallet.customers import purse_code

from ..conftest import FakeClock
from ..operator_keys import OPERATOR
from .checkout_world import IBAN, PASSWORD
from .dashboard_world import authenticator, member

__all__ = ["OTHER_IBAN", "Payouts", "people", "payouts_world"]

OTHER_IBAN = "DE89370400440532013000"


def eur(minor: int) -> Money:
    return Money(minor, "EUR")


@dataclass(frozen=True)
class Payouts:
    """The world's ids: the shop, its secret key, its people, its payments and payouts (oldest first), the other
    shop and its payout."""

    shop: str
    secret: str
    other: str
    other_secret: str
    payments: tuple[str, ...]
    payouts: tuple[str, ...]
    other_payout: str


def _shop(kleline: Kleline, name: str, iban: str) -> tuple[str, str]:
    registered, secret = kleline.merchants.register(name=name, email="shop@example.fr", iban=iban, fee_bps=350)
    kleline.merchants.approve(registered.id, actor=OPERATOR)
    return registered.id, secret


def _settle(kleline: Kleline) -> dict[str, str]:
    """Run today's settlement; each merchant's payout id."""
    run = kleline.settlement.run(actor=OPERATOR)
    return {payout.merchant_id: payout.id for payout in kleline.settlement.run_payouts(run.id)}


def payouts_world(kleline: Kleline, clock: FakeClock) -> Payouts:
    """Build the world from 2026-01-15 (the clock's start) to 2026-01-17, 10:00 UTC."""
    open_system_accounts(kleline)
    kleline.ledger.open_account("card:visa:receivable", "EUR", NormalSide.DEBIT)
    shop, secret = _shop(kleline, "Librairie Kléber", IBAN)
    other, other_secret = _shop(kleline, "Fromagerie Vaubourg", OTHER_IBAN)
    customers = []
    for name in ("ada", "bob", "cyd", "dan"):  # one a sale: none reaches strong authentication's thresholds
        customer = kleline.customers.sign_up(f"{name}@example.org", PASSWORD, name.title())
        kleline.ledger.post(
            EntryRequest(
                f"fund-{name}",
                (debit("card:visa:receivable", eur(10_000)), credit(purse_code(customer.id), eur(10_000))),
                "purse top-up by card",
            )
        )
        customers.append(customer.id)

    def sell(merchant: str, minor: int, reference: str) -> str:
        payment = kleline.payments.create(merchant, PaymentRequest(eur(minor), reference=reference))
        kleline.payments.confirm(payment.id, customers[int(reference[-1]) % 4], "purse")
        return payment.id

    first = sell(shop, 2_500, "CMD-1")
    second = sell(shop, 1_800, "CMD-2")
    kleline.refunds.refund(shop, first, eur(500))
    sell(other, 3_000, "FRO-1")
    clock.advance(hours=8)
    day1 = _settle(kleline)
    clock.advance(hours=8)  # 2026-01-16 01:30
    third = sell(shop, 2_000, "CMD-3")
    with kleline.db.transaction() as tx:
        paid = kleline.settlement.payout_by_end_to_end(tx, day1[shop])
        assert paid is not None
        kleline.settlement.confirm_paid_in(tx, paid, line_ref="L-1", booked_on=date(2026, 1, 16))
    with kleline.db.transaction() as tx:
        returned = kleline.settlement.payout_by_end_to_end(tx, day1[shop])
        assert returned is not None
        kleline.settlement.confirm_returned_in(tx, returned, line_ref="L-2", reason="AC04")
    clock.advance(hours=2)
    day2 = _settle(kleline)
    with kleline.db.transaction() as tx:
        paid = kleline.settlement.payout_by_end_to_end(tx, day2[shop])
        assert paid is not None
        kleline.settlement.confirm_paid_in(tx, paid, line_ref="L-3", booked_on=date(2026, 1, 17))
    clock.advance(hours=22)  # 2026-01-17 01:30
    fourth = sell(shop, 1_500, "CMD-4")
    clock.advance(hours=8, minutes=30)
    day3 = _settle(kleline)
    return Payouts(
        shop,
        secret,
        other,
        other_secret,
        (first, second, third, fourth),
        (day1[shop], day2[shop], day3[shop]),
        day1[other],
    )


def people(kleline: Kleline, world: Payouts, clock: FakeClock) -> dict[str, pyotp.TOTP]:
    """The shop's owner, accountant and support person, and the other shop's owner (``PASSWORD``); the owners'
    authenticators, by email."""
    owner = member(kleline, world.shop, "owner@example.org", "owner", name="Olga Owner")
    member(kleline, world.shop, "accountant@example.org", "accountant", name="Anna Accountant")
    member(kleline, world.shop, "support@example.org", "support", name="Sam Support", refund_limit=1_000)
    fromager = member(kleline, world.other, "fromager@example.org", "owner", name="Félix Fromager")
    return {user.email: authenticator(kleline, user, clock) for user in (owner, fromager)}

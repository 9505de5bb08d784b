from datetime import UTC, date, datetime

import pytest

from kleline.money import Money
from kleline.sepa import CreditTransfer, DirectDebit, OwnAccount

MERCHANT_IBAN = "DE89370400440532013000"
CUSTOMER_IBAN = "FR1420041010050500013M02606"


@pytest.fixture
def own_account() -> OwnAccount:
    return OwnAccount(
        iban="FR7630003000000005000000167", bic="SOGEFRPP", name="Kleline SAS", creditor_id="FR72ZZZ123456"
    )


@pytest.fixture
def created_at() -> datetime:
    return datetime(2026, 1, 15, 9, 30, tzinfo=UTC)


def payout(number: int, minor: int = 1250, **changes: object) -> CreditTransfer:
    values: dict[str, object] = {
        "end_to_end_id": f"po_{number:08d}",
        "amount": Money(minor, "EUR"),
        "name": f"Boutique {number} SARL",
        "iban": MERCHANT_IBAN,
        "bic": "COBADEFFXXX",
        "remittance": "Kleline payout 2026-01-15",
    }
    values.update(changes)
    return CreditTransfer(**values)  # type: ignore[arg-type]


def collection(number: int, minor: int = 5000, **changes: object) -> DirectDebit:
    values: dict[str, object] = {
        "end_to_end_id": f"col_{number:08d}",
        "amount": Money(minor, "EUR"),
        "name": f"Customer {number}",
        "iban": CUSTOMER_IBAN,
        "bic": "AGRIFRPP",
        "mandate_id": f"KL-MD-{number:08d}",
        "mandate_signed_on": date(2025, 12, 1),
        "sequence": "RCUR",
        "remittance": "Kleline purse top-up",
    }
    values.update(changes)
    return DirectDebit(**values)  # type: ignore[arg-type]

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from kleline.money import Money
from kleline.sepa import BankStatement, Direction, SepaFileInvalid, StatementLine, write_statement

from .conftest import MERCHANT_IBAN

LINE = StatementLine(
    "E1", Money(1250, "EUR"), Direction.DEBIT, date(2026, 1, 15), "po_1", None, "B", MERCHANT_IBAN, "r"
)
STATEMENT = BankStatement(
    "MSG-1",
    "STMT-1",
    "FR7630003000000005000000167",
    "EUR",
    datetime(2026, 1, 16, tzinfo=UTC),
    Money(10_000, "EUR"),
    Money(8_750, "EUR"),
    (LINE,),
    sequence_number=1,
)


def test_the_same_statement_gives_the_same_bytes() -> None:
    assert write_statement(STATEMENT) == write_statement(replace(STATEMENT))


@pytest.mark.parametrize(
    ("statement", "param", "message"),
    [
        (replace(STATEMENT, opening_balance=None, closing_balance=None), "closing_balance", "at least one balance"),
        (replace(STATEMENT, statement_id="S" * 36), "statement_id", "1 to 35 characters"),
        (replace(STATEMENT, account_iban="FR76 3000"), "account_iban", "not an IBAN"),
        (replace(STATEMENT, lines=(replace(LINE, amount=Money(-1, "EUR")),)), "lines[0].amount", "must be positive"),
        (replace(STATEMENT, lines=(replace(LINE, entry_ref=""),)), "lines[0].entry_ref", "1 to 35"),
        (
            replace(STATEMENT, lines=(LINE, replace(LINE, counterparty_name="Boutique "))),
            "lines[1].counterparty_name",
            "surrounding spaces",
        ),
        (replace(STATEMENT, lines=(replace(LINE, remittance="x" * 141),)), "lines[0].remittance", "1 to 140"),
        (replace(STATEMENT, lines=(replace(LINE, return_reason="R" * 36),)), "lines[0].return_reason", "1 to 35"),
    ],
)
def test_a_statement_that_cannot_be_written_is_refused_naming_its_field(
    statement: BankStatement, param: str, message: str
) -> None:
    with pytest.raises(SepaFileInvalid, match=message) as refused:
        write_statement(statement)
    assert refused.value.param == param


def test_a_character_xml_cannot_carry_is_refused() -> None:
    with pytest.raises(SepaFileInvalid, match=r"<Ustrd> cannot carry 'bell \\x07'"):
        write_statement(replace(STATEMENT, lines=(replace(LINE, remittance="bell \x07"),)))


def test_a_naive_creation_time_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        write_statement(replace(STATEMENT, created_at=datetime(2026, 1, 16)))

"""Whatever statement the simulated bank writes, the importer reads back the same values: the property the
reconciliation relies on (an end-to-end id, a return reason or a cent lost between the two would be a payout or a
collection nobody can match)."""

from datetime import UTC, date, datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kleline.money import Money
from kleline.sepa import BankStatement, Direction, StatementLine, read_statement, write_statement

OWN_IBAN = "FR7630003000000005000000167"
CURRENCIES = ["EUR", "JPY", "BHD", "USD"]  # two, zero and three decimals


def text(max_size: int) -> st.SearchStrategy[str]:
    """Any text XML 1.0 can carry (tabs and line breaks included), without the surrounding spaces a reader strips."""
    characters = st.characters(exclude_categories=("Cs", "Cc", "Cn", "Co"), include_characters="\t\n\r")
    return st.text(characters, min_size=1, max_size=max_size).filter(lambda s: s == s.strip() and s != "")


ibans = st.from_regex(r"[A-Z]{2}[0-9]{2}[a-zA-Z0-9]{1,30}", fullmatch=True).filter(lambda iban: iban != OWN_IBAN)
amounts = st.builds(Money, st.integers(0, 10**15), st.sampled_from(CURRENCIES))
balances = st.builds(Money, st.integers(-(10**15), 10**15), st.sampled_from(CURRENCIES))
moments = st.datetimes(
    min_value=datetime(1990, 1, 1),
    max_value=datetime(2200, 1, 1),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5, minutes=-30))]),
)
lines = st.builds(
    StatementLine,
    entry_ref=text(35),
    amount=amounts,
    direction=st.sampled_from(Direction),
    booking_date=st.dates(min_value=date(1990, 1, 1), max_value=date(2200, 1, 1)),
    # "NOTPROVIDED" is the rulebook's word for no reference: the importer reads it as none, as it must.
    end_to_end_id=st.none() | text(35).filter(lambda s: s != "NOTPROVIDED"),
    return_reason=st.none() | st.sampled_from(["AC04", "AM04", "MD06", "MS02"]) | text(35),
    counterparty_name=st.none() | text(140),
    counterparty_iban=st.none() | ibans,
    remittance=st.none() | text(140),
)
statements = st.builds(
    BankStatement,
    message_id=text(35),
    statement_id=text(35),
    account_iban=st.just(OWN_IBAN),
    currency=st.sampled_from(CURRENCIES),
    created_at=moments,
    opening_balance=st.none() | balances,
    closing_balance=balances,
    lines=st.lists(lines, max_size=8).map(tuple),
    sequence_number=st.none() | st.integers(0, 10**18 - 1),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(statements)
def test_a_written_statement_reads_back_identically(statement: BankStatement) -> None:
    assert read_statement(write_statement(statement)) == statement


@settings(max_examples=50, deadline=None)
@given(statements)
def test_writing_what_was_read_gives_the_same_bytes(statement: BankStatement) -> None:
    xml = write_statement(statement)

    assert write_statement(read_statement(xml)) == xml


@settings(max_examples=50, deadline=None)
@given(
    st.builds(
        BankStatement,
        opening_balance=balances,
        closing_balance=st.none(),
        **{
            "message_id": text(35),
            "statement_id": text(35),
            "account_iban": st.just(OWN_IBAN),
            "currency": st.just("EUR"),
            "created_at": moments,
            "lines": st.just(()),
        },
    )
)
def test_a_statement_with_only_an_opening_balance_reads_back_too(statement: BankStatement) -> None:
    assert read_statement(write_statement(statement)) == statement

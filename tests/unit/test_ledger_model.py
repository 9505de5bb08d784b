import json
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kleline.ledger import EntryRequest, InvalidEntry, Posting, credit, debit
from kleline.ledger.chain import canonical_content, content_hash
from kleline.ledger.model import Account, NormalSide
from kleline.money import Money


def test_an_unbalanced_entry_is_refused_with_the_difference() -> None:
    with pytest.raises(InvalidEntry, match="unbalanced.*EUR off by 1"):
        EntryRequest("ent_1", (Posting("a:x", 100, "EUR"), Posting("a:y", -99, "EUR")))


def test_an_entry_balanced_overall_but_not_per_currency_is_refused() -> None:
    with pytest.raises(InvalidEntry, match="EUR off by 100, USD off by -100"):
        EntryRequest("ent_1", (Posting("a:x", 100, "EUR"), Posting("a:y", -100, "USD")))


def test_a_zero_posting_is_refused() -> None:
    with pytest.raises(InvalidEntry, match="zero amount"):
        Posting("a:x", 0, "EUR")


@pytest.mark.parametrize("amount", [1.0, Decimal(1), "1", True])
def test_a_posting_amount_must_be_an_int(amount: object) -> None:
    with pytest.raises(TypeError):
        Posting("a:x", amount, "EUR")  # type: ignore[arg-type]


def test_an_entry_needs_two_postings_on_distinct_accounts() -> None:
    with pytest.raises(InvalidEntry, match="at least two"):
        EntryRequest("ent_1", (Posting("a:x", 100, "EUR"),))
    with pytest.raises(InvalidEntry, match="appears twice"):
        EntryRequest("ent_1", (Posting("a:x", 100, "EUR"), Posting("a:x", -100, "EUR")))


@pytest.mark.parametrize("entry_id", ["", "has space", "x" * 81, "-leading"])
def test_entry_ids_are_checked(entry_id: str) -> None:
    with pytest.raises(InvalidEntry) as caught:
        EntryRequest(entry_id, (debit("a:x", Money(1, "EUR")), credit("a:y", Money(1, "EUR"))))
    assert caught.value.param == "id"


def test_debit_and_credit_take_positive_money() -> None:
    assert debit("a:x", Money(5, "EUR")) == Posting("a:x", 5, "EUR")
    assert credit("a:x", Money(5, "EUR")) == Posting("a:x", -5, "EUR")
    with pytest.raises(InvalidEntry):
        debit("a:x", Money(-5, "EUR"))


def test_account_codes_and_currencies_are_checked() -> None:
    Account("customer:cus_1:purse", "EUR", NormalSide.CREDIT, 0)
    with pytest.raises(InvalidEntry, match="kind:part"):
        Account("Customer purse", "EUR", NormalSide.CREDIT)
    with pytest.raises(InvalidEntry, match="unknown ISO 4217"):
        Account("a:x", "EUX", NormalSide.CREDIT)


def test_canonical_content_is_stable_and_covers_every_field() -> None:
    legs = [Posting("a:x", 5, "EUR"), Posting("a:y", -5, "EUR")]
    assert canonical_content("e", 1, "d", {"b": 1, "a": "x"}, legs) == (
        b'["e",1,"d",{"a":"x","b":1},[["a:x",5,"EUR"],["a:y",-5,"EUR"]]]'
    )
    base = content_hash("e", 1, "d", {}, legs)
    assert content_hash("e", 2, "d", {}, legs) != base
    assert content_hash("e", 1, "D", {}, legs) != base
    assert content_hash("e", 1, "d", {"k": None}, legs) != base
    assert content_hash("e", 1, "d", {}, list(reversed(legs))) != base


@given(
    st.text(max_size=30),
    st.integers(0, 2**62),
    st.text(max_size=60),
    st.dictionaries(st.text(max_size=8), st.none() | st.booleans() | st.integers() | st.text(max_size=8), max_size=4),
    st.lists(st.tuples(st.text(min_size=1, max_size=12), st.integers(-(10**12), 10**12).filter(bool)), min_size=1),
)
def test_canonical_content_is_exactly_compact_sorted_json(
    entry_id: str, posted_at: int, description: str, metadata: dict[str, object], legs: list[tuple[str, int]]
) -> None:
    postings = [Posting(account, amount, "EUR") for account, amount in legs]
    document = [entry_id, posted_at, description, metadata, [[p.account, p.amount, p.currency] for p in postings]]
    expected = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert canonical_content(entry_id, posted_at, description, metadata, postings) == expected  # type: ignore[arg-type]

"""Ledger codes as beancount account names: valid, readable, and never two codes on one name."""

from __future__ import annotations

from beancount.core.account import is_valid

from kleline.reports import account_names
from kleline.reports.store import AccountInfo


def _accounts(*codes: tuple[str, str]) -> list[AccountInfo]:
    return [AccountInfo(i, code, "EUR", side, 0) for i, (code, side) in enumerate(codes, start=1)]


def test_each_account_is_named_by_its_nature_and_its_code() -> None:
    names = account_names(
        _accounts(
            ("bank:SOGEFRPP:safeguarding", "D"),
            ("bank:SOGEFRPP:in-transit", "D"),
            ("card:visa:receivable", "D"),
            ("customer:cus_1f2e:purse", "C"),
            ("customer:cus_1f2e:receivable", "D"),
            ("merchant:mer_9a:balance", "C"),
            ("kleline:commission", "C"),
            ("kleline:suspense", "C"),
            ("kleline:bad-debt", "D"),
        )
    )
    assert names == {
        "bank:SOGEFRPP:safeguarding": "Assets:Bank:SOGEFRPP:Safeguarding",
        "bank:SOGEFRPP:in-transit": "Assets:Bank:SOGEFRPP:In-transit",
        "card:visa:receivable": "Assets:Card:Visa:Receivable",
        "customer:cus_1f2e:purse": "Liabilities:Customer:Cus-1f2e:Purse",
        "customer:cus_1f2e:receivable": "Assets:Customer:Cus-1f2e:Receivable",
        "merchant:mer_9a:balance": "Liabilities:Merchant:Mer-9a:Balance",
        "kleline:commission": "Income:Kleline:Commission",
        "kleline:suspense": "Liabilities:Kleline:Suspense",
        "kleline:bad-debt": "Expenses:Kleline:Bad-debt",
    }
    assert all(is_valid(name) for name in names.values())


def test_codes_that_would_meet_on_one_name_get_distinct_names() -> None:
    codes = [("test:a_b", "D"), ("test:a-b", "D"), ("test:A.b", "D"), ("test:-x:9.z", "C"), ("test:ok", "D")]
    names = account_names(_accounts(*codes))
    assert len(set(names.values())) == len(codes)
    assert names["test:ok"] == "Assets:Test:Ok"
    assert names["test:a_b"].startswith("Assets:Test:A-b-") and names["test:a-b"].startswith("Assets:Test:A-b-")
    assert all(is_valid(name) for name in names.values()), names

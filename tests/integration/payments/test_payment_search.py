"""A merchant's search of its payments on both backends: filters, the search box, pages both ways, the export's
chunks, and never another merchant's payment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from kleline.bootstrap import Kleline
from kleline.errors import ValidationError
from kleline.ids import new_id
from kleline.money import Money
from kleline.payments import store
from kleline.payments.model import Payment
from kleline.payments.search import ListingPage, PageCursor, PaymentListing, PaymentPage, PaymentSearch, parse_search

from .conftest import merchant, shopper

START = datetime(2026, 1, 10, 8, 0, tzinfo=UTC)
EVERYTHING = PaymentSearch()
STATUSES = ("succeeded", "authorized", "canceled", "failed", "requires_confirmation")


def _payment(merchant_id: str, at: datetime, **changes: object) -> Payment:
    amount = int(changes.pop("amount", 1250))  # type: ignore[call-overload]
    status = str(changes.pop("status", "succeeded"))
    taken = amount if status in ("succeeded", "authorized") else 0
    fields: dict[str, object] = {
        "id": new_id("pay"),
        "merchant_id": merchant_id,
        "customer_id": None,
        "amount": Money(amount, "EUR"),
        "status": status,
        "method": "purse" if taken else None,
        "amount_authorized": taken,
        "amount_captured": taken if status == "succeeded" else 0,
        "amount_refunded": 0,
        "fee_bps": 350,
        "description": None,
        "reference": None,
        "capture_method": "automatic",
        "return_url": None,
        "failure_code": None,
        "created_at": at,
        "checkout_url": "",
    }
    fields.update(changes)
    return Payment(**fields)  # type: ignore[arg-type]


def _insert(kleline: Kleline, payments: list[Payment]) -> None:
    with kleline.db.transaction() as tx:
        for payment in payments:
            store.insert_payment(tx, payment)


@dataclass
class Shops:
    kleline: Kleline
    shop: str
    other: str
    mine: list[Payment]  # newest first, as every page orders them
    theirs: list[Payment]

    def ids(self, search: PaymentSearch = EVERYTHING) -> list[str]:
        """Every id a search finds, read as the export reads them."""
        return [p.id for p in self.kleline.payments.search_all(self.shop, search, chunk=4)]


def _newest_first(payments: list[Payment]) -> list[Payment]:
    return sorted(payments, key=lambda p: (p.created_at, p.id), reverse=True)


@pytest.fixture
def shops(kleline: Kleline) -> Shops:
    """Two merchants: 25 payments of the shop over five days, three of them at each instant (so that pages must
    order payments of the same microsecond by id), and 6 of the other's with the same references and amounts."""
    shop, other = merchant(kleline), merchant(kleline, name="Fromagerie Vaubourg")
    mine = []
    for i in range(25):
        mine.append(
            _payment(
                shop,
                START + timedelta(hours=5 * (i // 3)),
                status=STATUSES[i % 5],
                method=("card" if i % 2 else "purse") if STATUSES[i % 5] in ("succeeded", "authorized") else None,
                amount=1000 + 50 * i,
                reference=("ORD-" if i % 2 else "ord-") + f"{i:03d}",
                description=f"Commande {i}",
            )
        )
    theirs = [
        _payment(other, START + timedelta(hours=i), amount=1000 + 50 * i, reference=f"ORD-{i:03d}") for i in range(6)
    ]
    _insert(kleline, mine + theirs)
    return Shops(kleline, shop, other, _newest_first(mine), _newest_first(theirs))


def _pages(shops: Shops, search: PaymentSearch, limit: int) -> list[PaymentPage]:
    pages = [shops.kleline.payments.search(shops.shop, search, limit=limit)]
    while pages[-1].next is not None:
        pages.append(shops.kleline.payments.search(shops.shop, search, limit=limit, cursor=pages[-1].next))
    return pages


def _ids(page: PaymentPage) -> list[str]:
    return [p.id for p in page.payments]


def test_pages_walk_every_payment_newest_first_then_back_again(shops: Shops) -> None:
    pages = _pages(shops, PaymentSearch(), limit=7)
    assert [len(page.payments) for page in pages] == [7, 7, 7, 4]
    assert [pid for page in pages for pid in _ids(page)] == [p.id for p in shops.mine]
    assert pages[0].previous is None and pages[-1].next is None
    assert [page.has_more for page in pages] == [True, True, True, False]
    assert all(page.previous is not None for page in pages[1:])
    back = [pages[-1]]
    while back[-1].previous is not None:
        back.append(shops.kleline.payments.search(shops.shop, PaymentSearch(), limit=7, cursor=back[-1].previous))
    assert [_ids(page) for page in back] == [_ids(page) for page in reversed(pages)]
    assert [page.has_more for page in back[1:]] == [True, True, False]  # newer ones beyond, until the first page
    assert back[-1].next == pages[0].next


def test_going_back_to_the_newest_gives_the_first_page_whole(shops: Shops) -> None:
    after_third = PageCursor.after(shops.mine[2])
    page = shops.kleline.payments.search(shops.shop, PaymentSearch(), limit=5, cursor=after_third)
    assert _ids(page) == [p.id for p in shops.mine[3:8]]
    assert page.previous is not None
    first = shops.kleline.payments.search(shops.shop, PaymentSearch(), limit=5, cursor=page.previous)
    assert _ids(first) == [p.id for p in shops.mine[:5]]  # not the three left above: the first page, whole
    assert (first.previous, first.has_more) == (None, False)
    assert first.next == PageCursor.after(shops.mine[4])


def test_filters_combine_and_pages_of_a_filtered_list_go_both_ways(shops: Shops) -> None:
    search = parse_search(status=["succeeded,authorized"], method=["card"])
    expected = [p.id for p in shops.mine if p.status in ("succeeded", "authorized") and p.method == "card"]
    assert expected and shops.ids(search) == expected
    pages = _pages(shops, search, limit=2)
    assert [pid for page in pages for pid in _ids(page)] == expected
    assert pages[-1].previous is not None
    before_last = shops.kleline.payments.search(shops.shop, search, limit=2, cursor=pages[-1].previous)
    assert _ids(before_last) == _ids(pages[-2])


def _listed(payment: Payment) -> PaymentListing:
    return PaymentListing(
        payment.id,
        payment.amount,
        payment.status,
        payment.method,
        payment.amount_captured,
        payment.amount_refunded,
        payment.description,
        payment.reference,
        payment.created_at,
    )


def test_a_listing_is_the_search_page_by_page_each_payment_read_as_its_listed_fields(shops: Shops) -> None:
    payments = shops.kleline.payments
    for search in (EVERYTHING, parse_search(status=["succeeded,authorized"], q="ord-")):
        cursors: list[PageCursor | None] = [None, PageCursor.after(shops.mine[2]), PageCursor.before(shops.mine[9])]
        while cursors:
            cursor = cursors.pop()
            full = payments.search(shops.shop, search, limit=4, cursor=cursor)
            listed = payments.listing(shops.shop, search, limit=4, cursor=cursor)
            assert listed == ListingPage([_listed(p) for p in full.payments], full.next, full.previous, full.has_more)
            if cursor is None or cursor.direction == "next":  # on to the end, each page compared
                cursors += [full.next] if full.next is not None else []
    assert _listed(shops.mine[0]).refundable == shops.mine[0].refundable
    assert _listed(shops.mine[0]).currency == "EUR"


def test_the_created_range_takes_whole_utc_days_or_instants_both_ends_included(shops: Shops) -> None:
    day = [p.id for p in shops.mine if p.created_at.date() == START.date() + timedelta(days=1)]
    assert day and shops.ids(parse_search(created_from="2026-01-11", created_to="2026-01-11")) == day
    instant = shops.mine[-1].created_at  # the oldest three share it
    both_ends = parse_search(created_from=instant.isoformat(), created_to=instant.isoformat())
    assert shops.ids(both_ends) == [p.id for p in shops.mine if p.created_at == instant]
    assert shops.ids(parse_search(created_from="2026-01-20")) == []


def test_the_search_box_finds_an_id_a_reference_prefix_in_either_case_or_an_amount(shops: Shops) -> None:
    one = shops.mine[7]
    assert shops.ids(parse_search(q=one.id)) == [one.id]
    assert shops.ids(parse_search(q=one.id[:-1])) == []  # an id is matched whole
    refs = [p.id for p in shops.mine if (p.reference or "").lower().startswith("ord-01")]
    assert len(refs) == 10
    assert shops.ids(parse_search(q="ORD-01")) == refs == shops.ids(parse_search(q="oRd-01"))
    assert shops.ids(parse_search(q="ord-013")) == [p.id for p in shops.mine if p.reference == "ORD-013"]
    fifth = [p.id for p in shops.mine if p.amount.minor == 1250]
    assert len(fifth) == 1
    assert shops.ids(parse_search(q="12,50")) == fifth == shops.ids(parse_search(q="12.5"))
    assert shops.ids(parse_search(amount="12.50")) == fifth
    assert shops.ids(parse_search(q="12,505")) == []


def test_the_search_box_and_a_filter_go_together(shops: Shops) -> None:
    found = shops.ids(parse_search(q="ORD-0", status=["canceled"]))
    assert found == [p.id for p in shops.mine if p.status == "canceled"]


def test_references_are_lower_cased_in_a_to_z_only_on_both_backends(shops: Shops) -> None:
    ecole = _payment(shops.shop, START, reference="ÉCOLE-42")
    _insert(shops.kleline, [ecole])
    assert shops.ids(parse_search(q="École")) == [ecole.id]
    assert shops.ids(parse_search(q="ÉCOLE-4")) == [ecole.id]
    assert shops.ids(parse_search(q="école")) == []


def test_a_customers_email_finds_nothing_until_customers_can_consent_to_share_it(
    kleline: Kleline, shops: Shops
) -> None:
    ada = shopper(kleline, email="ada@example.org")
    paid = _payment(shops.shop, START, customer_id=ada.id, reference="ada@example.org-order")
    _insert(kleline, [paid, _payment(shops.shop, START, customer_id=ada.id)])
    # Only the reference that begins with the text: the customer's own email names none of her payments.
    assert shops.ids(parse_search(q="ada@example.org")) == [paid.id]
    assert shops.ids(parse_search(q="ADA@EXAMPLE.ORG-")) == [paid.id]


def test_no_search_reaches_another_merchants_payments(shops: Shops) -> None:
    payments = shops.kleline.payments
    theirs = shops.theirs[0]
    assert shops.ids(parse_search(q=theirs.id)) == []
    assert set(shops.ids()) == {p.id for p in shops.mine}
    assert not set(shops.ids(parse_search(q="ORD-00"))) & {p.id for p in shops.theirs}
    # A cursor is a place in time, never a key to another merchant's list.
    beside = payments.search(shops.shop, PaymentSearch(), limit=100, cursor=PageCursor.after(theirs))
    assert {p.merchant_id for p in beside.payments} == {shops.shop}
    assert [p.id for p in payments.search_all(shops.other, parse_search(q="ORD-001"))] == [shops.theirs[-2].id]


@pytest.mark.parametrize("limit", [0, 101])
def test_a_page_holds_one_to_a_hundred_payments(shops: Shops, limit: int) -> None:
    with pytest.raises(ValidationError) as refused:
        shops.kleline.payments.search(shops.shop, PaymentSearch(), limit=limit)
    assert refused.value.param == "limit"


def test_the_export_reads_every_payment_a_chunk_at_a_time(shops: Shops) -> None:
    reads = 0
    original = shops.kleline.db.transaction

    def counted(*, write: bool = True):  # type: ignore[no-untyped-def]
        nonlocal reads
        reads += 1
        return original(write=write)

    shops.kleline.db.transaction = counted  # type: ignore[method-assign]
    try:
        exported = [p.id for p in shops.kleline.payments.search_all(shops.shop, PaymentSearch(), chunk=10)]
    finally:
        shops.kleline.db.transaction = original  # type: ignore[method-assign]
    assert exported == [p.id for p in shops.mine]
    assert reads == 3  # 10, 10, then the last 5

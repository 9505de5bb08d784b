"""A customer's purse history over the API: each payment and refund names the merchant, a top-up names none."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from kleline.api.app import create_app
from kleline.bootstrap import Kleline

from .checkout_world import PASSWORD, card, customer, eur, fund, payment, shop


@pytest.fixture
def client(kleline: Kleline) -> Iterator[TestClient]:
    with TestClient(create_app(kleline)) as test_client:
        yield test_client


def test_each_payment_and_refund_in_the_purse_history_names_its_merchant(kleline: Kleline, client: TestClient) -> None:
    books = shop(kleline)
    cafe = shop(kleline, "Café des Arts", "Marché couvert")
    ada = customer(kleline)
    top_up_card = card(kleline, ada.id)
    fund(kleline, ada.id, top_up_card, 2000)
    paid = {}
    for merchant_id, minor in ((books, 500), (cafe, 300), (books, 200)):
        paying = payment(kleline, merchant_id, minor)
        paid[paying.id] = kleline.payments.confirm(paying.id, ada.id, "purse", None)
        assert paid[paying.id].status == "succeeded"
    first = next(iter(paid))
    refund = kleline.refunds.refund(books, first, eur(150))
    token = kleline.customers.sign_in(ada.email, PASSWORD).token

    body = client.get("/v1/wallet/transactions", headers={"Authorization": f"Bearer {token}"}).json()
    lines = [(m["amount"], m["merchant_name"], m["merchant_id"], m["payment_id"], m["refund_id"]) for m in body["data"]]
    payments = list(paid)
    assert lines == [
        (150, "Librairie Kléber", books, first, refund.id),
        (-200, "Librairie Kléber", books, payments[2], None),
        (-300, "Café des Arts", cafe, payments[1], None),
        (-500, "Librairie Kléber", books, first, None),
        (2000, None, None, None, None),
    ]
    page = client.get("/v1/wallet/transactions?limit=2", headers={"Authorization": f"Bearer {token}"}).json()
    assert [m["merchant_name"] for m in page["data"]] == ["Librairie Kléber", "Librairie Kléber"] and page["has_more"]

"""A small world for the checkout tests (pages and browser): a shop in a mall, customers, cards, purses, payments.

Everything is made through Kleline's own services, as the API would make it, so that the pages meet real objects.
"""

from __future__ import annotations

import pyotp

from kleline.bootstrap import Kleline
from kleline.money import Money
from kleline.payments.model import CaptureMethod, Payment, PaymentRequest
from kleline.wallet.model import Customer

from ..operator_keys import OPERATOR

IBAN = "FR1420041010050500013M02606"
PASSWORD = "correct horse battery staple"
VISA = "4242424242424242"
MASTERCARD = "5555555555554444"
ISSUER_INSUFFICIENT_FUNDS = "4000000000009995"
RETURN_URL = "https://shop.example/orders/42/done?lang=fr"


def eur(minor: int) -> Money:
    """An amount in euro cents."""
    return Money(minor, "EUR")


def shop(kleline: Kleline, name: str = "Librairie Kléber", mall: str = "Galerie Kléber") -> str:
    """An approved merchant, in a mall; its id."""
    gallery = kleline.malls.create(mall, mall.lower().replace(" ", "-").replace("é", "e"), actor=OPERATOR)
    merchant, _ = kleline.merchants.register(name=name, email="shop@example.fr", iban=IBAN, mall_ids=[gallery.id])
    return kleline.merchants.approve(merchant.id, actor=OPERATOR).id


def customer(kleline: Kleline, email: str = "ada@example.org", name: str = "Ada Lovelace") -> Customer:
    """A customer with an empty purse."""
    return kleline.customers.sign_up(email, PASSWORD, name)


def card(kleline: Kleline, customer_id: str, number: str = VISA) -> str:
    """A card registered in the customer's wallet; its id."""
    return kleline.cards.register(customer_id, number, 12, 2030, "123", "Ada Lovelace").id


def fund(kleline: Kleline, customer_id: str, card_id: str, minor: int) -> None:
    """Top the purse up by ``minor`` cents from the card (small enough to skip strong authentication)."""
    top_up = kleline.top_ups.top_up(customer_id, eur(minor), card_id)
    assert top_up.status == "succeeded", top_up


def enrol(kleline: Kleline, customer: Customer) -> pyotp.TOTP:
    """An authenticator app for the customer, as the app would compute its codes."""
    enrolment = kleline.strong_auth.enrol(customer.id, customer.email)
    totp = pyotp.parse_uri(enrolment.provisioning_uri)
    assert isinstance(totp, pyotp.TOTP)
    return totp


def payment(
    kleline: Kleline,
    merchant_id: str,
    minor: int,
    *,
    description: str | None = "Les Misérables, 2 vol.",
    return_url: str | None = RETURN_URL,
    capture_method: CaptureMethod = "automatic",
) -> Payment:
    """A payment the merchant created, waiting for its customer."""
    request = PaymentRequest(eur(minor), description, "order-42", capture_method, return_url)
    return kleline.payments.create(merchant_id, request)

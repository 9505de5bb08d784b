"""Checks of what callers send and of the state a payment must be in, before anything is touched."""

from __future__ import annotations

from urllib.parse import urlsplit

from kleline.errors import ValidationError
from kleline.money import Money
from kleline.payments.errors import CaptureTooLarge, PaymentStateConflict
from kleline.payments.model import CAPTURE_METHODS, OPEN_STATUSES, Payment, PaymentRequest

__all__ = ["SUPPORTED_CURRENCIES", "capture_amount", "check_open", "check_request", "unclaimed"]

SUPPORTED_CURRENCIES = ("EUR",)
"""Merchants' balances and purses are in euros; other currencies wait for the multi-currency issue."""


def unclaimed(payment: Payment) -> tuple[Payment, str | None] | None:
    if payment.status != "processing":
        return None
    return payment.with_status("requires_confirmation", customer_id=None, method=None, card_id=None), None


def check_open(payment: Payment, customer_id: str) -> None:
    if payment.status not in OPEN_STATUSES:
        raise PaymentStateConflict(f"payment {payment.id} is {payment.status}; it cannot be confirmed")
    if payment.status == "requires_action" and payment.customer_id != customer_id:
        raise PaymentStateConflict(f"payment {payment.id} is being paid by another customer")


def check_request(request: PaymentRequest) -> None:
    if request.amount.currency not in SUPPORTED_CURRENCIES:
        raise ValidationError(
            f"payments are in {', '.join(SUPPORTED_CURRENCIES)} for now, not {request.amount.currency}",
            param="currency",
        )
    if request.amount.minor <= 0:
        raise ValidationError("amount must be a positive number of minor units", param="amount")
    if request.capture_method not in CAPTURE_METHODS:
        raise ValidationError(f"capture_method must be one of {', '.join(CAPTURE_METHODS)}", param="capture_method")
    if request.description is not None and len(request.description) > 500:
        raise ValidationError("description is limited to 500 characters", param="description")
    if request.reference is not None and len(request.reference) > 200:
        raise ValidationError("reference is limited to 200 characters", param="reference")
    if request.return_url is not None:
        parts = urlsplit(request.return_url)
        if parts.scheme not in ("http", "https") or not parts.netloc or len(request.return_url) > 2000:
            raise ValidationError("return_url must be an http(s) URL of at most 2000 characters", param="return_url")


def capture_amount(payment: Payment, amount: Money) -> int:
    if amount.currency != payment.currency:
        raise ValidationError(f"the payment is in {payment.currency}, not {amount.currency}", param="currency")
    if amount.minor <= 0:
        raise ValidationError("amount must be a positive number of minor units", param="amount")
    if amount.minor > payment.amount_authorized and payment.status == "authorized":
        raise CaptureTooLarge(
            f"capture of {amount.minor} is above the {payment.amount_authorized} authorised", param="amount"
        )
    return amount.minor

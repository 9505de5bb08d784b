"""Signed receipts as pages: a customer's own receipt (``/wallet/receipts/{id}``) as a person reads it and as the
signed JSON file that ``kleline receipt verify`` checks, and the public page where anyone checks a receipt file
(``/receipts/verify``) against Kleline's published keys.

A customer sees only the receipts of their own payments and refunds: any other id, whether it exists or not, gets
the same not-found page, as the API answers 404 to a party who is not the receipt's. Beside what the receipt
attests, their page shows what the signed document does not hold (``Payments.purchase``): what was bought, as the
merchant described it; on a refund's receipt, the payment it gives back, linked to that payment's receipt; on a
payment's, the refunds of it, each linked to its own receipt.

The check is ``kleline.receipts.verify`` against ``Receipts.public_keys`` (what ``GET /v1/keys`` publishes), and
its four outcomes are worded for a person: valid, altered (the signature does not match what the file says),
signed with a key Kleline does not publish, or not a receipt at all. The file is read within ``RECEIPT_LIMIT``: a
receipt is well under a kilobyte.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from fastapi import APIRouter, Request
from starlette.responses import Response

from kleline.errors import NotFound
from kleline.payments.purchases import Purchase
from kleline.receipts import (
    BadSignature,
    MalformedReceipt,
    Receipt,
    ReceiptError,
    SignedReceipt,
    UnknownSigningKey,
    loads_strict,
    verify,
)
from kleline.wallet.model import Customer
from kleline.web.history import amount, day, moment
from kleline.web.i18n import N_, Language, language_of
from kleline.web.refusals import PageError
from kleline.web.rendering import render, secure_headers
from kleline.web.uploads import TooLarge, read_upload
from kleline.web.visits import (
    Answered,
    Visit,
    known_visit,
    page_context,
    page_visit,
    post_visit,
    respond,
    signed_in_visit,
    web_of,
)

__all__ = ["RECEIPT_LIMIT", "VERIFY_PATH", "router", "too_large_page"]

router = APIRouter(include_in_schema=False)

RECEIPT_LIMIT: Final = 8 * 1024
"""The largest receipt file the verify page reads, in bytes (a receipt is about 700; a long merchant name adds
a few hundred)."""
UPLOAD_LIMIT: Final = RECEIPT_LIMIT + 4 * 1024
"""The largest body of the verify page's form: the file and the form's other fields and multipart headers."""
VERIFY_PATH: Final = "/receipts/verify"
_VERIFY_TITLE: Final = N_("Check a receipt")


@dataclass(frozen=True, slots=True)
class Shown:
    """A receipt worded for a person."""

    receipt: Receipt
    key_id: str
    key_active: bool
    when: str
    amount: str
    commission: str


def _shown(language: Language, document: dict[str, Any], receipt: Receipt, active: bool) -> Shown:
    return Shown(
        receipt,
        str(document["signature"]["key_id"]),
        active,
        moment(language, receipt.issued_at),
        language.money(receipt.amount),
        language.money(receipt.commission),
    )


@dataclass(frozen=True, slots=True)
class RefundShown:
    """A refund of the payment, worded, and the id of its receipt."""

    refund_id: str
    text: str


@dataclass(frozen=True, slots=True)
class Bought:
    """What a customer's receipt page shows beside the receipt: what was bought, and the receipts it leads to."""

    description: str | None
    refund_of: str  # of a refund: the payment it gives back, worded ("" for a payment's receipt)
    refunds: list[RefundShown]  # of a payment: its refunds, oldest first


def _bought(language: Language, receipt: Receipt, purchase: Purchase | None) -> Bought:
    if purchase is None:  # a receipt's payment is always its customer's; should it not be, show the receipt alone
        return Bought(None, "", [])
    text = language.gettext
    if receipt.kind == "refund":
        refund_of = text(N_("Refund of your payment of %(amount)s on %(date)s")) % {
            "amount": amount(language, purchase.amount),
            "date": day(language, purchase.paid_at),
        }
        return Bought(purchase.description, refund_of, [])
    refunds = [
        RefundShown(
            refund.refund_id,
            text(N_("%(amount)s refunded on %(date)s"))
            % {"amount": amount(language, refund.amount), "date": day(language, refund.at)},
        )
        for refund in purchase.refunds
    ]
    return Bought(purchase.description, "", refunds)


def _own(request: Request, visit: Visit, customer: Customer, object_id: str) -> SignedReceipt:
    """The receipt of ``object_id`` if it is ``customer``'s; else ``Answered`` with the not-found page."""
    try:
        signed = web_of(request).kleline.receipts.get(object_id)
    except NotFound:
        signed = None
    if signed is None or web_of(request).kleline.receipts.customer_of(object_id) != customer.id:
        language = language_of(request)
        context = page_context(visit, language.gettext(N_("No receipt here")), section="activity")
        raise Answered(respond(request, visit, render(request, "receipt_missing.html", context, status=404)))
    return signed


@router.get("/wallet/receipts/{object_id}")
def receipt_page(request: Request, object_id: str) -> Response:
    """A payment's or a refund's receipt, as a person reads it, with the signed file to download."""
    visit = signed_in_visit(request)
    assert visit.customer is not None
    signed = _own(request, visit, visit.customer, object_id)
    language = language_of(request)
    kleline = web_of(request).kleline
    keys = kleline.receipts.public_keys()
    document = signed.to_json()
    active = any(key.key_id == signed.signature.key_id and key.active for key in keys)
    receipt = signed.receipt
    bought = _bought(language, receipt, kleline.payments.purchase(visit.customer.id, receipt.payment_id))
    title = language.gettext(N_("Receipt of a payment") if receipt.kind == "payment" else N_("Receipt of a refund"))
    context = page_context(
        visit,
        title,
        section="activity",
        shown=_shown(language, document, receipt, active),
        bought=bought,
        object_id=object_id,
    )
    return respond(request, visit, render(request, "receipt.html", context))


@router.get("/wallet/receipts/{object_id}/download")
def receipt_download(request: Request, object_id: str) -> Response:
    """The signed receipt as a JSON file, exactly as ``GET /v1/receipts/{id}`` serves it."""
    visit = signed_in_visit(request)
    assert visit.customer is not None
    signed = _own(request, visit, visit.customer, object_id)
    response = Response(signed.dumps(), media_type="application/json")
    filename = f"kleline-receipt-{object_id}.json"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return respond(request, visit, secure_headers(response))


def _verify_page(
    request: Request, visit: Visit | None, *, status: int = 200, errors: list[PageError] | None = None, **result: Any
) -> Response:
    language = language_of(request)
    context = page_context(visit, language.gettext(_VERIFY_TITLE), **result)
    context["errors"] = errors or []
    context.setdefault("outcome", None)
    context.setdefault("shown", None)
    context.setdefault("detail", None)
    context.setdefault("file_name", "")
    context["limit_kib"] = RECEIPT_LIMIT // 1024
    return render(request, "receipt_verify.html", context, status=status)


def _too_large(request: Request, visit: Visit | None) -> Response:
    language = language_of(request)
    message = language.gettext(
        N_("This file is larger than %(limit)d KB: a Kleline receipt is about 1 KB. Choose the receipt file.")
    ) % {"limit": RECEIPT_LIMIT // 1024}
    return _verify_page(request, visit, status=413, errors=[PageError(message, "payload_too_large", "receipt")])


def too_large_page(request: Request) -> Response | None:
    """The verify page's answer to a body past the door's bound (None for any other path: the door answers)."""
    if request.scope["path"].rstrip("/") != VERIFY_PATH:
        return None
    return _too_large(request, known_visit(request))


@router.get(VERIFY_PATH)
def verify_form(request: Request) -> Response:
    """The form where anyone chooses a receipt file to check."""
    visit = page_visit(request)
    return respond(request, visit, _verify_page(request, visit))


@router.post(VERIFY_PATH)
async def verify_receipt(request: Request) -> Response:
    """Check the posted receipt file against Kleline's published keys and say what it is."""
    try:
        upload = await read_upload(request, UPLOAD_LIMIT)
    except TooLarge:
        return _too_large(request, known_visit(request))
    visit = post_visit(request, upload.fields, back=VERIFY_PATH)
    language = language_of(request)
    file_name, content = upload.files.get("receipt", ("", b""))
    if not content:
        message = language.gettext(N_("Choose a receipt file to check"))
        return _verify_page(request, visit, status=400, errors=[PageError(message, "validation_error", "receipt")])
    if len(content) > RECEIPT_LIMIT:
        return _too_large(request, visit)
    keys = web_of(request).kleline.receipts.public_keys()
    result: dict[str, Any] = {"file_name": file_name}
    try:
        document = loads_strict(content)
        receipt = verify(document, keys)
    except UnknownSigningKey:
        key_id = document["signature"]["key_id"]
        return _verify_page(request, visit, outcome="unknown_key", detail=key_id, **result)
    except BadSignature:
        return _verify_page(request, visit, outcome="altered", **result)
    except MalformedReceipt as error:
        return _verify_page(request, visit, outcome="malformed", detail=error.param, **result)
    except ReceiptError:
        return _verify_page(request, visit, outcome="malformed", **result)
    active = keys.get(document["signature"]["key_id"]).active
    shown = _shown(language, document, receipt, active)
    return _verify_page(request, visit, outcome="valid", shown=shown, **result)

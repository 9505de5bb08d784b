"""New bank accounts of merchants as the console shows them: the queue on the approvals page and the pending change on
the merchant's page (``bank_changes`` holds the page's two acts).

A reviewer checks a new account before proposing it, so the merchant's page shows its IBAN in full (as
``kleline merchants bank-changes`` does), its bank's name and BIC, who asked and when, and the other merchants already
paid into it; the queue masks it, as every list does.
"""

from __future__ import annotations

from typing import Any, Final

from fastapi import Request

from kleline.proposals.model import ProposalKind
from kleline.web.dashboard.wording import STATUS_NAMES as MERCHANT_STATUS_NAMES
from kleline.web.i18n import Language
from kleline.web.security import when
from kleline.web.visits import web_of

__all__ = ["QUEUE_LIMIT", "bank_change_queue", "bank_change_review", "grouped_iban"]

QUEUE_LIMIT: Final = 200
"""How many changes the approvals page lists, oldest first."""


def grouped_iban(iban: str) -> str:
    """An IBAN in groups of four, as it is printed on a bank's statement, for a person to compare."""
    return " ".join(iban[start : start + 4] for start in range(0, len(iban), 4))


def bank_change_queue(request: Request, language: Language) -> tuple[list[dict[str, str]], bool]:
    """Every merchant's pending change, oldest first (the first ``QUEUE_LIMIT``), and whether more wait."""
    kleline = web_of(request).kleline
    found = kleline.bank_account_changes.queue(limit=QUEUE_LIMIT + 1)
    names: dict[str, str] = {}
    items = []
    for change in found[:QUEUE_LIMIT]:
        if change.merchant_id not in names:
            names[change.merchant_id] = kleline.merchants.get(change.merchant_id).name
        items.append(
            {
                "href": f"/console/merchants/{change.merchant_id}#bank-change-title",
                "merchant": names[change.merchant_id],
                "merchant_id": change.merchant_id,
                "iban": change.masked_iban,
                "asked_by": change.requested_by_name or change.requested_by,
                "when": when(change.requested_at, language),
            }
        )
    return items, len(found) > QUEUE_LIMIT


def bank_change_review(request: Request, merchant_id: str, language: Language) -> dict[str, Any] | None:
    """The merchant's pending change as its page shows it, or None when none waits."""
    kleline = web_of(request).kleline
    review = kleline.bank_account_changes.review(merchant_id)
    if review is None:
        return None
    change = review.change
    return {
        "id": change.id,
        "iban": grouped_iban(change.iban),
        "bic": change.bic,
        "bank": review.bank_name or "",
        "asked_by": change.requested_by_name or change.requested_by,
        "when": when(change.requested_at, language),
        "sharing": [
            {
                "name": other.name,
                "id": other.id,
                "status": language.gettext(MERCHANT_STATUS_NAMES.get(other.status, other.status)),
                "href": f"/console/merchants/{other.id}",
            }
            for other in review.sharing
        ],
        "proposed": kleline.proposals.pending(ProposalKind.BANK_ACCOUNT, merchant_id) is not None,
    }

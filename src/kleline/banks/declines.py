"""What an issuer's decline means for a customer: ISO 8583 response codes mapped to stable ``decline_code`` names.

The API never shows raw response codes: networks differ in the codes they use, and a customer or merchant program
needs a short, stable vocabulary to branch on. Each code maps to one name:

=========  ==========================  ======================================================================
ISO 8583   decline_code                meaning
=========  ==========================  ======================================================================
05         do_not_honor                the issuer declined without a reason
04 07      do_not_honor                pick up card (special condition): deliberately generic
41 43      do_not_honor                lost or stolen card: deliberately generic, so as not to tell whoever
                                       holds the card that it has been reported
59         do_not_honor                suspected fraud: deliberately generic, for the same reason
12 57 58   transaction_not_allowed     the card may not be used for this kind of transaction
13         invalid_amount              the issuer refused the amount
14         invalid_card_number         the issuer knows no such card
15         unknown_issuer              no issuer is reachable for this card range
51         insufficient_funds          the cardholder's available balance is too low
54         expired_card                the issuer considers the card expired
55 N7      incorrect_cvc               the security code (or PIN) does not match
61 65      card_velocity_exceeded      the cardholder's amount or count limit is reached
62         restricted_card             the card is restricted (region, usage)
91 96      issuer_unavailable          the issuer cannot answer now: trying again later may succeed
1A         authentication_required     strong customer authentication is needed (a challenge, not a refusal)
others     generic_decline             any code not listed
=========  ==========================  ======================================================================

Standard library only; approvals ("00", "85") have no decline code.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from kleline.banks.network import APPROVAL_CODES

__all__ = ["DECLINE_CODES", "GENERIC_DECLINE", "decline_code", "decline_message"]

GENERIC_DECLINE: Final = "generic_decline"

_TABLE: Final[dict[str, tuple[str, ...]]] = {
    "do_not_honor": ("05", "04", "07", "41", "43", "59"),
    "transaction_not_allowed": ("12", "57", "58"),
    "invalid_amount": ("13",),
    "invalid_card_number": ("14",),
    "unknown_issuer": ("15",),
    "insufficient_funds": ("51",),
    "expired_card": ("54",),
    "incorrect_cvc": ("55", "N7"),
    "card_velocity_exceeded": ("61", "65"),
    "restricted_card": ("62",),
    "issuer_unavailable": ("91", "96"),
    "authentication_required": ("1A",),
}

DECLINE_CODES: Final[Mapping[str, str]] = MappingProxyType(
    {response: name for name, responses in _TABLE.items() for response in responses}
)
"""ISO 8583 response code → ``decline_code``; a code not listed is ``generic_decline``."""

_MESSAGES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "do_not_honor": "the card was declined by its issuer: the cardholder should contact their bank",
        "transaction_not_allowed": "the issuer does not allow this card to be used here",
        "invalid_amount": "the issuer refused the amount",
        "invalid_card_number": "the issuer knows no card with this number",
        "unknown_issuer": "no issuer can be reached for this card",
        "insufficient_funds": "the card's available balance is too low",
        "expired_card": "the issuer reports the card as expired",
        "incorrect_cvc": "the security code does not match the card",
        "card_velocity_exceeded": "the card's spending limit is reached",
        "restricted_card": "the card is restricted by its issuer",
        "issuer_unavailable": "the card's issuer cannot be reached now: try again later",
        "authentication_required": "the issuer requires strong customer authentication",
        GENERIC_DECLINE: "the card was declined by its issuer",
    }
)


def decline_code(response_code: str) -> str:
    """The stable ``decline_code`` of an ISO 8583 response code; ``ValueError`` for an approval."""
    if response_code in APPROVAL_CODES:
        raise ValueError(f"response code {response_code!r} is an approval, not a decline")
    return DECLINE_CODES.get(response_code, GENERIC_DECLINE)


def decline_message(code: str) -> str:
    """A sentence for a customer explaining ``decline_code`` (never the card's details)."""
    return _MESSAGES.get(code, _MESSAGES[GENERIC_DECLINE])

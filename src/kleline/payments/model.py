"""Payments and refunds as plain values, with the rules that do not need a database.

The state machine (API.md):

    requires_confirmation --confirm--> authorized  (manual capture)  --capture--> succeeded
                          \\                 \\--cancel--> canceled
                           \\                 \\--sweep--> expired
                            \\--confirm--> succeeded (automatic capture)
                             \\--confirm--> requires_action --confirm with the code--> authorized | succeeded
                              \\--confirm--> failed (declined, insufficient funds)
    requires_confirmation | requires_action --cancel--> canceled

``processing`` is the short internal step between a customer's claim on a payment and the issuer's or the ledger's
answer; it makes a second, concurrent confirmation of the same payment a clear conflict.

The commission (DESIGN.md section 2) is a function of what was captured and refunded, never of the steps taken:
``fee = round_half_up((captured - refunded) * bps / 10_000)``. A capture takes, and a refund returns, the difference
of ``fee`` before and after it, so a full refund returns exactly what was taken.

The introduction fee (issue 15) follows the same rule at its own rate: a payment confirmed by a customer whom an
offer of the merchant introduced (``introduction_offer_id``) carries ``intro_fee_bps`` and pays
``round_half_up((captured - refunded) * intro_fee_bps / 10_000)`` beside the commission, taken and returned alike.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Final, Literal

from kleline.money import Money, round_half_up

__all__ = [
    "CAPTURE_METHODS",
    "METHODS",
    "OPEN_STATUSES",
    "Payment",
    "PaymentRequest",
    "Refund",
    "RefundSplit",
    "STATUSES",
    "commission",
    "refund_split",
]

CaptureMethod = Literal["automatic", "manual"]
Method = Literal["purse", "card"]
CAPTURE_METHODS: Final = ("automatic", "manual")
METHODS: Final = ("purse", "card")
OPEN_STATUSES: Final = ("requires_confirmation", "requires_action")
"""A payment in these states is still waiting for its customer."""
STATUSES: Final = (
    "requires_confirmation",
    "requires_action",
    "processing",
    "authorized",
    "succeeded",
    "canceled",
    "failed",
    "expired",
)
"""Every state of the machine above (the database's ``ck_payments_status`` holds the same list)."""


def commission(captured: int, refunded: int, fee_bps: int) -> int:
    """The commission on what the merchant keeps, in minor units, rounded half up once."""
    if not 0 <= refunded <= captured:
        raise ValueError(f"refunded {refunded} outside 0..captured {captured}")
    return round_half_up((captured - refunded) * fee_bps, 10_000)


@dataclass(frozen=True, slots=True)
class RefundSplit:
    """How a refund of ``amount`` is paid: ``fee_returned`` from Kleline's commission, ``intro_fee_returned`` from
    its introduction fees, the rest by the merchant."""

    amount: int
    fee_returned: int
    intro_fee_returned: int = 0

    @property
    def from_merchant(self) -> int:
        """What the merchant's balance gives back."""
        return self.amount - self.fee_returned - self.intro_fee_returned


def refund_split(captured: int, refunded: int, amount: int, fee_bps: int, intro_fee_bps: int = 0) -> RefundSplit:
    """The commission (and introduction fee) a refund of ``amount`` returns: each fee before it minus after it."""
    if not 0 < amount <= captured - refunded:
        raise ValueError(f"refund {amount} outside 1..{captured - refunded}")
    before = commission(captured, refunded, fee_bps)
    after = commission(captured, refunded + amount, fee_bps)
    intro_before = commission(captured, refunded, intro_fee_bps)
    intro_after = commission(captured, refunded + amount, intro_fee_bps)
    return RefundSplit(amount, before - after, intro_before - intro_after)


@dataclass(frozen=True, slots=True)
class PaymentRequest:
    """What a merchant asks for: an amount, and how and where the customer comes back."""

    amount: Money
    description: str | None = None
    reference: str | None = None
    capture_method: CaptureMethod = "automatic"
    return_url: str | None = None


@dataclass(frozen=True, slots=True)
class Payment:
    """A payment as the API shows it; ``fee`` and ``net`` follow from the amounts (never stored apart)."""

    id: str
    merchant_id: str
    customer_id: str | None
    amount: Money
    status: str
    method: str | None
    amount_authorized: int
    amount_captured: int
    amount_refunded: int
    fee_bps: int
    description: str | None
    reference: str | None
    capture_method: str
    return_url: str | None
    failure_code: str | None
    created_at: datetime
    checkout_url: str
    card_id: str | None = None
    challenge_id: str | None = None
    authorization_id: str | None = None
    card_network: str | None = None
    authorized_at: datetime | None = None
    expires_at: datetime | None = None
    intro_fee_bps: int = 0
    """The introduction fee's rate, fixed when an introduced customer confirms (0: no introduction)."""
    introduction_offer_id: str | None = None
    """The offer that introduced the customer to the merchant, when one did."""

    @property
    def fee(self) -> int:
        """Kleline's commission on what was captured, net of refunds."""
        return commission(self.amount_captured, self.amount_refunded, self.fee_bps)

    @property
    def introduction_fee(self) -> int:
        """Kleline's introduction fee on what was captured, net of refunds (0 without an introduction)."""
        return commission(self.amount_captured, self.amount_refunded, self.intro_fee_bps)

    @property
    def net(self) -> int:
        """What the merchant keeps: captured minus refunded minus the commission and the introduction fee."""
        return self.fees_and_net()[2]

    def fees_and_net(self) -> tuple[int, int, int]:
        """``fee``, ``introduction_fee`` and ``net`` together, each commission computed once (a view shows all
        three)."""
        kept = self.amount_captured - self.amount_refunded
        fee, introduction_fee = self.fee, self.introduction_fee
        return fee, introduction_fee, kept - fee - introduction_fee

    @property
    def currency(self) -> str:
        """The payment's ISO 4217 currency."""
        return self.amount.currency

    @property
    def next_action(self) -> dict[str, str] | None:
        """What the customer must do next: pass strong authentication for the named challenge."""
        if self.status == "requires_action" and self.challenge_id is not None:
            return {"type": "sca", "challenge_id": self.challenge_id}
        return None

    @property
    def refundable(self) -> int:
        """What may still be refunded: captured minus refunded."""
        return self.amount_captured - self.amount_refunded

    def with_status(self, status: str, **changes: object) -> Payment:
        """A copy in another state."""
        return replace(self, status=status, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class Refund:
    """A refund of part or all of a captured payment."""

    id: str
    payment_id: str
    merchant_id: str
    amount: Money
    status: str
    fee_returned: int
    failure_code: str | None
    created_at: datetime
    intro_fee_returned: int = 0
    """The introduction fee the refund gave back (0 when the payment carried none)."""

"""The acts that take two people, each over the service that does it.

Every act has three steps, all in a transaction the proposals' service opens:

- ``prepare`` when it is proposed: check that it could apply now (with the service's own refusals: ``nothing_owed``,
  ``suspense_item_resolved``...), and fix its parameters as the proposer saw them (the debt it writes off and from
  what, the rate it replaces, the IBAN it approves), so that the approver approves exactly that;
- ``ready`` before the approval's transaction, for what must happen outside it (opening an account);
- ``apply`` in the approval's transaction: do it, through the service's ``..._in`` use case, refusing if the subject
  has changed since (``debt_changed``, ``commission_rate_changed``, ``intro_fee_rate_changed``, a suspense item
  resolved meanwhile, a bank change withdrawn): the caller then rolls everything back. It returns what it did, and
  the record of it for the staff audit trail (never a full IBAN).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from kleline.collections import Collections
from kleline.collections.debts import check_debt_currency
from kleline.db.engine import RawTx
from kleline.errors import ValidationError
from kleline.merchant_users import BankAccountChanges
from kleline.merchants import Merchants, mask_iban
from kleline.merchants.intro_fee_rates import check_intro_fee_rate_in, set_intro_fee_rate_in
from kleline.money import Money
from kleline.proposals.model import Proposal, ProposalKind
from kleline.reconciliation import ResolutionRequest, SuspenseQueue
from kleline.staff.actor import StaffActor

__all__ = ["Act", "Applied", "acts"]

Document = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Applied:
    """What an approved act did (``result``, shown with the proposal) and its record in the staff audit trail:
    ``action`` on ``subject_type`` / ``subject_id``, from ``before`` to ``after``."""

    result: Document
    action: str
    before: Document
    after: Document


class Act(Protocol):
    """One kind of four-eyes act."""

    def prepare(self, tx: RawTx, subject_id: str, parameters: Mapping[str, Any]) -> Document:
        """The proposal's parameters, checked against the subject as it is now (the act's refusal otherwise)."""
        ...

    def ready(self, proposal: Proposal) -> None:
        """What must be done before the approval's transaction (nothing, for most acts)."""
        ...

    def apply(self, tx: RawTx, proposal: Proposal, approver: StaffActor) -> Applied:
        """Do the act in ``tx``, or refuse it if the subject changed since it was proposed."""
        ...

    def shown(self, parameters: Mapping[str, Any]) -> Document:
        """The parameters as the staff audit trail keeps them."""
        ...


def _int(parameters: Mapping[str, Any], name: str) -> int:
    value = parameters.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"{name}: a whole number", param=name)
    return value


def _text(parameters: Mapping[str, Any], name: str) -> str | None:
    value = parameters.get(name)
    if value is not None and not isinstance(value, str):
        raise ValidationError(f"{name}: a string", param=name)
    return value


@dataclass(frozen=True, slots=True)
class WriteOff:
    """Write a customer's debt off to ``kleline:bad-debt``: ``amount`` cents of the ``owed`` ones."""

    collections: Collections

    def prepare(self, tx: RawTx, subject_id: str, parameters: Mapping[str, Any]) -> Document:
        currency = _text(parameters, "currency") or "EUR"
        check_debt_currency(currency)
        asked = None if parameters.get("amount") is None else Money(_int(parameters, "amount"), currency)
        take, owed = self.collections.debts.plan_write_off_in(tx, subject_id, asked)
        return {"amount": take.minor, "currency": take.currency, "owed": owed.minor}

    def ready(self, proposal: Proposal) -> None:
        self.collections.debts.prepare_write_off(proposal.subject_id)

    def apply(self, tx: RawTx, proposal: Proposal, approver: StaffActor) -> Applied:
        parameters = proposal.parameters
        amount = Money(int(parameters["amount"]), str(parameters["currency"]))
        owed = int(parameters["owed"])
        metadata = {"proposal": proposal.id, "proposed_by": proposal.proposed_by.label, "approved_by": approver.label}
        done = self.collections.debts.write_off_in(tx, proposal.subject_id, amount, owed=owed, metadata=metadata)
        result = {
            "entry_id": done.id,
            "amount": done.amount.minor,
            "currency": done.amount.currency,
            "outstanding": done.outstanding.minor,
        }
        return Applied(
            result,
            "receivable_written_off",
            {"owed": owed, "currency": amount.currency},
            {
                "owed": done.outstanding.minor,
                "currency": amount.currency,
                "written_off": amount.minor,
                "entry": done.id,
            },
        )

    def shown(self, parameters: Mapping[str, Any]) -> Document:
        return dict(parameters)


@dataclass(frozen=True, slots=True)
class SuspenseResolution:
    """Resolve a suspense item by hand: to an object (``type`` and its id as ``target``), to an account, or dismissed
    with a note; ``line`` recalls the held line for the approver."""

    suspense: SuspenseQueue

    def prepare(self, tx: RawTx, subject_id: str, parameters: Mapping[str, Any]) -> Document:
        note = _text(parameters, "note")
        request = ResolutionRequest(_text(parameters, "type") or "", _text(parameters, "target"), note)
        item = self.suspense.check_in(tx, subject_id, request)
        line = {"amount": item.line.amount.minor, "currency": item.line.amount.currency}
        line["direction"] = item.line.direction.value
        return {"type": request.kind, "target": request.target, "note": note, "line": line}

    def ready(self, proposal: Proposal) -> None:
        return None

    def apply(self, tx: RawTx, proposal: Proposal, approver: StaffActor) -> Applied:
        parameters = proposal.parameters
        request = ResolutionRequest(parameters["type"], parameters["target"], parameters["note"])
        item = self.suspense.resolve_in(tx, proposal.subject_id, request, resolved_by=proposal.id)
        entry_id = None if item.resolution is None else item.resolution.entry_id
        result = {"entry_id": entry_id, "type": request.kind, "target": request.target}
        return Applied(result, "suspense_resolved", {"status": "open"}, {"status": "resolved", **result})

    def shown(self, parameters: Mapping[str, Any]) -> Document:
        return dict(parameters)


@dataclass(frozen=True, slots=True)
class CommissionRate:
    """Take ``fee_bps`` on an active (or suspended) merchant's next payments instead of ``previous_fee_bps``."""

    merchants: Merchants

    def prepare(self, tx: RawTx, subject_id: str, parameters: Mapping[str, Any]) -> Document:
        fee_bps = _int(parameters, "fee_bps")
        merchant = self.merchants.check_commission_rate_in(tx, subject_id, fee_bps)
        return {"fee_bps": fee_bps, "previous_fee_bps": merchant.fee_bps}

    def ready(self, proposal: Proposal) -> None:
        return None

    def apply(self, tx: RawTx, proposal: Proposal, approver: StaffActor) -> Applied:
        fee_bps, previous = int(proposal.parameters["fee_bps"]), int(proposal.parameters["previous_fee_bps"])
        self.merchants.set_commission_rate_in(tx, proposal.subject_id, fee_bps, previous=previous)
        result = {"fee_bps": fee_bps, "previous_fee_bps": previous}
        return Applied(result, "merchant_commission_rate_changed", {"fee_bps": previous}, {"fee_bps": fee_bps})

    def shown(self, parameters: Mapping[str, Any]) -> Document:
        return dict(parameters)


@dataclass(frozen=True, slots=True)
class IntroFeeRate:
    """Take ``intro_fee_bps`` on the payments of customers an active (or suspended) merchant's offers introduce,
    instead of ``previous_intro_fee_bps`` (issue 15)."""

    def prepare(self, tx: RawTx, subject_id: str, parameters: Mapping[str, Any]) -> Document:
        intro_fee_bps = _int(parameters, "intro_fee_bps")
        merchant = check_intro_fee_rate_in(tx, subject_id, intro_fee_bps)
        return {"intro_fee_bps": intro_fee_bps, "previous_intro_fee_bps": merchant.intro_fee_bps}

    def ready(self, proposal: Proposal) -> None:
        return None

    def apply(self, tx: RawTx, proposal: Proposal, approver: StaffActor) -> Applied:
        bps, previous = int(proposal.parameters["intro_fee_bps"]), int(proposal.parameters["previous_intro_fee_bps"])
        set_intro_fee_rate_in(tx, proposal.subject_id, bps, previous=previous)
        result = {"intro_fee_bps": bps, "previous_intro_fee_bps": previous}
        return Applied(result, "merchant_intro_fee_rate_changed", {"intro_fee_bps": previous}, {"intro_fee_bps": bps})

    def shown(self, parameters: Mapping[str, Any]) -> Document:
        return dict(parameters)


@dataclass(frozen=True, slots=True)
class BankAccount:
    """Approve the pending change ``change_id`` a merchant's owner asked for, to ``iban`` / ``bic``."""

    changes: BankAccountChanges

    def prepare(self, tx: RawTx, subject_id: str, parameters: Mapping[str, Any]) -> Document:
        change = self.changes.pending_in(tx, subject_id, _text(parameters, "change_id") or "")
        return {"change_id": change.id, "iban": change.iban, "bic": change.bic}

    def ready(self, proposal: Proposal) -> None:
        return None

    def apply(self, tx: RawTx, proposal: Proposal, approver: StaffActor) -> Applied:
        change_id = str(proposal.parameters["change_id"])
        change = self.changes.approve_in(tx, proposal.subject_id, change_id, by=approver.label[:60])
        result = {
            "change_id": change.id,
            "iban": change.iban,
            "bic": change.bic,
            "previous_iban": change.previous_iban,
            "previous_bic": change.previous_bic,
        }
        before = {"iban": change.masked_previous_iban, "bic": change.previous_bic}
        after = {"iban": change.masked_iban, "bic": change.bic, "change_id": change.id}
        return Applied(result, "merchant_bank_account_changed", before, after)

    def shown(self, parameters: Mapping[str, Any]) -> Document:
        return {**parameters, "iban": mask_iban(str(parameters["iban"]))}


def acts(
    collections: Collections, suspense: SuspenseQueue, merchants: Merchants, changes: BankAccountChanges
) -> dict[ProposalKind, Act]:
    """Each kind of proposal's act, over the services that do them."""
    return {
        ProposalKind.WRITE_OFF: WriteOff(collections),
        ProposalKind.SUSPENSE_RESOLUTION: SuspenseResolution(suspense),
        ProposalKind.COMMISSION_RATE: CommissionRate(merchants),
        ProposalKind.INTRO_FEE_RATE: IntroFeeRate(),
        ProposalKind.BANK_ACCOUNT: BankAccount(changes),
    }

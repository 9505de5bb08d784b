"""An application as compliance reviews it: every check run again on what was stored, and the other merchants that
share its IBAN or SIRET.

The checks at sign-up refused what was malformed; a reviewer wants more than "it was accepted": the IBAN's bank and
its BIC, the SIRET and the company it belongs to, the VAT number against that company, and above all whether the
same bank account or establishment is already known under another name (a refused shop applying again, or two shops
of one owner paid into one account). Each check says what it found, so that a refusal can name its reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from stdnum.fr import siret as stdnum_siret

from kleline.db.engine import RawTx
from kleline.errors import ValidationError
from kleline.merchants import checks, store
from kleline.merchants.model import Merchant, mask_iban

__all__ = ["ApplicationReview", "Check", "CheckName", "review"]

CheckName = Literal["iban", "siret", "vat_number", "same_iban", "same_siret"]


@dataclass(frozen=True, slots=True)
class Check:
    """One check of an application: passed or not, and what it found, as a reviewer reads it (``detail``, in
    English, as the API gives it) and as values a page words in its own language (``found``: ``iban`` masked, ``bic``,
    ``siret``, ``siren``, ``vat_number``; ``refusal``: the code of the check that failed)."""

    name: CheckName
    passed: bool
    detail: str
    others: tuple[str, ...] = ()
    """For the duplicate checks: the ids of the other merchants found."""
    found: Mapping[str, str] = field(default_factory=dict)
    refusal: str | None = None


@dataclass(frozen=True, slots=True)
class ApplicationReview:
    """A merchant and the result of each check of its application."""

    merchant: Merchant
    checks: tuple[Check, ...]

    @property
    def clear(self) -> bool:
        """True when every check passed."""
        return all(check.passed for check in self.checks)


def _bank(merchant: Merchant) -> Check:
    try:
        details = checks.bank_details(merchant.iban, merchant.bic)
    except ValidationError as refused:
        return Check("iban", False, str(refused), refusal=refused.code)
    found = {"iban": mask_iban(details.iban), "bic": details.bic}
    return Check("iban", True, f"{found['iban']}, bank {details.bic}", found=found)


def _siret(merchant: Merchant) -> Check:
    try:
        siret = checks.check_siret(merchant.siret)
    except ValidationError as refused:
        return Check("siret", False, str(refused), refusal=refused.code)
    if siret is None:
        return Check("siret", False, "no SIRET given")
    found = {"siret": siret, "siren": stdnum_siret.to_siren(siret)}
    return Check("siret", True, f"SIRET {siret}, SIREN {found['siren']}", found=found)


def _vat(merchant: Merchant) -> Check:
    if merchant.vat_number is None:
        return Check("vat_number", False, "no VAT number given")
    try:
        vat = checks.check_vat_number(merchant.vat_number, merchant.siret)
    except ValidationError as refused:
        return Check("vat_number", False, str(refused), refusal=refused.code)
    found = {"vat_number": str(vat)} | ({"siret": merchant.siret} if merchant.siret else {})
    return Check("vat_number", True, f"{vat} matches the SIRET's company" if merchant.siret else str(vat), found=found)


def _same(name: Literal["same_iban", "same_siret"], what: str, others: list[Merchant]) -> Check:
    if not others:
        return Check(name, True, f"no other merchant has this {what}")
    listed = ", ".join(f"{other.name} ({other.id}, {other.status})" for other in others)
    return Check(name, False, f"also the {what} of {listed}", tuple(other.id for other in others))


def review(tx: RawTx, merchant: Merchant) -> ApplicationReview:
    """Run every check of ``merchant``'s application again, and look for other merchants sharing its IBAN or SIRET."""
    same_iban = store.merchants_sharing(tx, "iban", merchant.iban, merchant.id)
    same_siret = store.merchants_sharing(tx, "siret", merchant.siret, merchant.id) if merchant.siret else []
    return ApplicationReview(
        merchant,
        (
            _bank(merchant),
            _siret(merchant),
            _vat(merchant),
            _same("same_iban", "IBAN", same_iban),
            _same("same_siret", "SIRET", same_siret),
        ),
    )

"""What merchants and malls refuse, each with a stable code.

KlelineError
 ├── ValidationError ──── InvalidMerchant       validation_error: a field is missing, malformed or out of range
 │                    ├── InvalidIban           the IBAN's structure, check digits or national key is wrong
 │                    ├── InvalidBic            the BIC is malformed, does not fit the IBAN, or cannot be derived
 │                    ├── InvalidSiret          the SIRET's length or Luhn check is wrong
 │                    └── InvalidVatNumber      the VAT number is malformed, or not the SIRET's company's
 ├── NotFound ─────────── UnknownMerchant, UnknownMall, UnknownKey
 ├── Conflict ─────────── StatusConflict        approve, suspend or refuse from a status that does not allow it
 │                    ├── CommissionRateChanged the rate changed since a change of it was decided
 │                    ├── IntroFeeRateChanged   the same, for the introduction fee's rate
 │                    └── SlugTaken             another mall already has this slug
 ├── MerchantNotActive                          403: a pending or suspended merchant asked to take a payment
 └── InvalidMerchantKey                         401: the secret key is unknown, revoked or not a merchant's
"""

from __future__ import annotations

from kleline.errors import Conflict, KlelineError, NotFound, ValidationError

__all__ = [
    "CommissionRateChanged",
    "InvalidBic",
    "InvalidIban",
    "InvalidMerchant",
    "InvalidMerchantKey",
    "InvalidSiret",
    "InvalidVatNumber",
    "IntroFeeRateChanged",
    "MerchantNotActive",
    "SlugTaken",
    "StatusConflict",
    "UnknownKey",
    "UnknownMall",
    "UnknownMerchant",
]


class InvalidMerchant(ValidationError):
    """A merchant's or mall's field is missing, malformed or out of range."""


class InvalidIban(ValidationError):
    """The IBAN is malformed, its check digits or its national key are wrong, or it is outside the SEPA zone."""

    code = "invalid_iban"


class InvalidBic(ValidationError):
    """The BIC is malformed, belongs to another country than the IBAN, or is needed and cannot be derived."""

    code = "invalid_bic"


class InvalidSiret(ValidationError):
    """The SIRET (French establishment number) has the wrong length, characters or check digit."""

    code = "invalid_siret"


class InvalidVatNumber(ValidationError):
    """The intra-community VAT number has no EU country code, the wrong length or check digits, or (a French one)
    belongs to another company than the SIRET's: then ``siret_vat_number`` is the one the SIRET's company has."""

    code = "invalid_vat_number"

    def __init__(self, detail: str, *, param: str | None = "vat_number", siret_vat_number: str | None = None) -> None:
        super().__init__(detail, param=param)
        self.siret_vat_number = siret_vat_number

    def extensions(self) -> dict[str, object]:
        """The SIRET's company's VAT number, when the one given is another company's."""
        return {} if self.siret_vat_number is None else {"siret_vat_number": self.siret_vat_number}


class UnknownMerchant(NotFound):
    """No such merchant, or not one the caller may see."""


class UnknownMall(NotFound):
    """No such mall."""


class UnknownKey(NotFound):
    """No such key for this merchant."""


class StatusConflict(Conflict):
    """The merchant's status does not allow this action (suspending a pending merchant, approving an active one,
    refusing one that is not pending)."""

    code = "invalid_status_transition"

    def __init__(self, detail: str, *, status: str) -> None:
        super().__init__(detail)
        self.status_now = status

    def extensions(self) -> dict[str, object]:
        """The merchant's current status, so that a client can tell what happened without another call."""
        return {"merchant_status": self.status_now}


class CommissionRateChanged(Conflict):
    """A change of a merchant's commission rate was decided from one rate and finds another."""

    code = "commission_rate_changed"


class IntroFeeRateChanged(Conflict):
    """A change of a merchant's introduction fee rate was decided from one rate and finds another."""

    code = "intro_fee_rate_changed"


class SlugTaken(Conflict):
    """Another mall already has this slug."""

    code = "slug_taken"


class MerchantNotActive(KlelineError):
    """The merchant is pending approval, refused or suspended, and so cannot take payments; ``merchant_status``
    says which."""

    code = "merchant_not_active"
    status = 403

    def __init__(self, detail: str, *, merchant_status: str | None = None) -> None:
        super().__init__(detail)
        self.merchant_status = merchant_status

    def extensions(self) -> dict[str, object]:
        """The merchant's status, so that a client can tell a pending shop from a refused or suspended one."""
        return {} if self.merchant_status is None else {"merchant_status": self.merchant_status}


class InvalidMerchantKey(KlelineError):
    """The secret key is unknown, revoked, or not a merchant key (the same answer for each, on purpose)."""

    code = "unauthorized"
    status = 401

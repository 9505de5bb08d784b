"""The checks a merchant's registration passes: bank details (schwifty), SIRET and VAT number (python-stdnum),
email, website, and an operator's reason for a refusal or a suspension.

Bank details are checked as far as the registries allow, because a payout to a wrong account is slow and costly
to recover: the IBAN's structure and ISO 7064 check digits, its national key where schwifty knows the algorithm
(the French RIB key, for one), and membership of the SEPA zone (payouts are SEPA credit transfers). A BIC that is
not given is derived from the IBAN's bank code; one that is given must be well formed and belong to the IBAN's
country (or a territory that uses that country's IBANs, such as Guadeloupe for France): a bank's BIC does not
change country. Each check names the field it refuses in ``param``.

A VAT number is an EU intra-community number with its country code (``stdnum.eu.vat``: format and check digits of
each member state; VIES, the EU's online register, is not asked: Kleline checks offline, and an operator before
approval). A French one embeds its company's SIREN, which is also the first 9 digits of the SIRET: when both are
given they must name the same company (``stdnum.fr.tva.to_siren``, ``stdnum.fr.siret.to_siren``).
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email
from schwifty import BIC, IBAN
from schwifty.exceptions import NationalChecksumNotVerified, SchwiftyException
from stdnum.eu import vat as stdnum_vat
from stdnum.exceptions import InvalidComponent
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.fr import siret as stdnum_siret
from stdnum.fr import tva as stdnum_tva

from kleline.errors import ValidationError
from kleline.merchants.errors import InvalidBic, InvalidIban, InvalidMerchant, InvalidSiret, InvalidVatNumber
from kleline.merchants.model import MAX_FEE_BPS, MAX_REASON, MIN_FEE_BPS

__all__ = [
    "BankDetails",
    "bank_details",
    "bank_name",
    "bank_problems",
    "check_category",
    "check_description",
    "check_email",
    "check_fee_bps",
    "check_name",
    "check_reason",
    "check_siret",
    "check_slug",
    "check_vat_number",
    "check_website",
]

# Territories that have no IBAN country code of their own and use their country's: their banks' BICs carry the
# territory's code (a Guadeloupe bank's BIC reads ...GP..., its IBANs FR...).
_IBAN_TERRITORIES: Final[dict[str, frozenset[str]]] = {
    "FR": frozenset({"GF", "GP", "MQ", "RE", "YT", "PM", "BL", "MF", "NC", "PF", "WF", "TF"}),
    "GB": frozenset({"GG", "JE", "IM"}),
}
_CATEGORY = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
# A web address typed as people say it, without its scheme: a host name with at least one dot (``shop.example``,
# ``www.shop.example:8443/fr``). Anything else without ``://`` (``javascript:...``, ``localhost``) is not one.
_BARE_HOST = re.compile(
    r"(?i)[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+(?::[0-9]{1,5})?(?:[/?#].*)?"
)
_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
MAX_NAME = 200
MAX_SLUG = 60
MAX_URL = 2048
MAX_DESCRIPTION = 500


@dataclass(frozen=True, slots=True)
class BankDetails:
    """An IBAN and BIC that passed every check, in compact upper-case form."""

    iban: str
    bic: str


def check_name(name: str, *, param: str = "name") -> str:
    """A legal or display name: 1 to 200 characters once trimmed."""
    name = name.strip()
    if not 1 <= len(name) <= MAX_NAME:
        raise InvalidMerchant(f"{param}: give 1 to {MAX_NAME} characters", param=param)
    return name


def check_email(email: str) -> str:
    """The canonical (lower-case) form of an email address."""
    try:
        return str(validate_email(email, check_deliverability=False).normalized).lower()
    except EmailNotValidError as error:
        raise InvalidMerchant(f"email: {error}", param="email") from None


def check_website(website: str | None) -> str | None:
    """An absolute http or https URL with a host, or None. A bare host name (``shop.example``, as shops write their
    address on their cards) is taken as its https address: refusing it would only make the person type the scheme
    that every browser adds for them."""
    if website is None or not website.strip():
        return None
    website = website.strip()
    if "://" not in website and _BARE_HOST.fullmatch(website):
        website = f"https://{website}"
    parts = urlsplit(website)
    if len(website) > MAX_URL or parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise InvalidMerchant(
            "website: give an http:// or https:// address, such as https://shop.example", param="website"
        )
    if any(character.isspace() for character in website):
        raise InvalidMerchant("website: an address has no spaces", param="website")
    return website


def check_category(category: str | None) -> str | None:
    """A short lower-case code (``books``, ``5942``): letters, digits, ``-`` and ``_``, at most 40; or None."""
    if category is None or not category.strip():
        return None
    category = category.strip().lower()
    if not _CATEGORY.fullmatch(category):
        raise InvalidMerchant(
            "category: a short code of lower-case letters, digits, '-' or '_' (at most 40), such as books",
            param="category",
        )
    return category


def check_description(description: str | None) -> str | None:
    """What a shop sells, in words: at most 500 characters once trimmed, on one line; None when blank."""
    if description is None or not description.strip():
        return None
    description = " ".join(description.split())  # a line on a page: runs of spaces and line breaks read as one
    if len(description) > MAX_DESCRIPTION:
        raise InvalidMerchant(f"description: at most {MAX_DESCRIPTION} characters", param="description")
    if any(not character.isprintable() for character in description):
        raise InvalidMerchant("description: control characters are not allowed", param="description")
    return description


def check_siret(siret: str | None) -> str | None:
    """A SIRET's 14 digits (spaces and dots removed) after its Luhn check, or None."""
    if siret is None or not siret.strip():
        return None
    try:
        return str(stdnum_siret.validate(siret))
    except StdnumError as error:
        raise InvalidSiret(f"siret: {str(error).lower().rstrip('.')}", param="siret") from None


def check_vat_number(vat_number: str | None, siret: str | None = None) -> str | None:
    """An EU VAT number in compact upper-case form with its country code (``FR40303265045``), or None when blank;
    a French one must be the company's of ``siret`` when that is a valid SIRET."""
    if vat_number is None or not vat_number.strip():
        return None
    try:
        compact = str(stdnum_vat.validate(vat_number)).upper()
    except InvalidComponent:
        raise InvalidVatNumber(
            "vat_number: start with the country code of an EU member state, such as FR40303265045", param="vat_number"
        ) from None
    except StdnumError as error:
        raise InvalidVatNumber(f"vat_number: {str(error).lower().rstrip('.')}", param="vat_number") from None
    if compact.startswith("FR") and siret is not None and stdnum_siret.is_valid(siret):
        siret = str(stdnum_siret.compact(siret))
        siren, of_siret = str(stdnum_tva.to_siren(compact[2:])), str(stdnum_siret.to_siren(siret))
        if siren != of_siret:
            expected = "FR" + str(stdnum_siret.to_tva(siret))
            raise InvalidVatNumber(
                f"vat_number: {compact} is the VAT number of SIREN {siren}, but the SIRET is of SIREN {of_siret} "
                f"(whose VAT number is {expected})",
                param="vat_number",
                siret_vat_number=expected,
            )
    return compact


def check_reason(reason: str | None, *, required: bool) -> str | None:
    """An operator's reason for a refusal or a suspension, as the merchant will read it: 1 to 500 characters on one
    line once trimmed; None when blank and not ``required``."""
    if reason is None or not reason.strip():
        if required:
            raise InvalidMerchant("reason: say why, in words the merchant will read", param="reason")
        return None
    reason = " ".join(reason.split())
    if len(reason) > MAX_REASON:
        raise InvalidMerchant(f"reason: at most {MAX_REASON} characters", param="reason")
    if any(not character.isprintable() for character in reason):
        raise InvalidMerchant("reason: control characters are not allowed", param="reason")
    return reason


def check_fee_bps(fee_bps: int) -> int:
    """A commission rate within 300 to 400 basis points."""
    if isinstance(fee_bps, bool) or not isinstance(fee_bps, int) or not MIN_FEE_BPS <= fee_bps <= MAX_FEE_BPS:
        raise InvalidMerchant(
            f"fee_bps: the commission is {MIN_FEE_BPS} to {MAX_FEE_BPS} basis points", param="fee_bps"
        )
    return fee_bps


def check_slug(slug: str) -> str:
    """A mall's slug: lower-case letters and digits in groups joined by single hyphens, at most 60 characters."""
    if len(slug) > MAX_SLUG or not _SLUG.fullmatch(slug):
        raise InvalidMerchant(
            f"slug: lower-case letters, digits and single hyphens, at most {MAX_SLUG} characters, such as rue-du-bac",
            param="slug",
        )
    return slug


def _iban(text: str) -> IBAN:
    try:
        iban = IBAN(text)
        # A national key with no algorithm registered is accepted unchecked, as schwifty does, without the warning
        # it would otherwise raise on every such registration.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NationalChecksumNotVerified)
            iban.bban.validate_national_checksum()
    except SchwiftyException as error:
        raise InvalidIban(f"iban: {_reason(error)}", param="iban") from None
    if not iban.in_sepa_zone:
        raise InvalidIban(
            f"iban: {iban.country_code} is outside the SEPA zone, and payouts are SEPA credit transfers", param="iban"
        )
    return iban


def _bic(text: str) -> BIC:
    try:
        return BIC(text)
    except SchwiftyException as error:
        raise InvalidBic(f"bic: {_reason(error)}", param="bic") from None


def _reason(error: SchwiftyException) -> str:
    message = str(error) or type(error).__name__
    return message[0].lower() + message[1:]


def bank_problems(iban_text: str, bic_text: str | None) -> list[ValidationError]:
    """Every problem of an IBAN and its BIC, for a form to show together: the IBAN's, and the BIC's on its own when
    the IBAN is refused (a BIC is checked against its IBAN only once that one is right)."""
    try:
        bank_details(iban_text, bic_text)
    except InvalidIban as refused:
        problems: list[ValidationError] = [refused]
        if bic_text is not None and bic_text.strip():
            try:
                _bic(bic_text)
            except InvalidBic as bic_refused:
                problems.append(bic_refused)
        return problems
    except InvalidBic as refused:
        return [refused]
    return []


def bank_name(iban_text: str) -> str | None:
    """The name of the IBAN's bank as the registry knows it (``BNP PARIBAS``), or None: what a reviewer compares with
    the BIC and the account holder's country, before trusting an account."""
    try:
        return IBAN(iban_text).bank_name
    except SchwiftyException:
        return None


def bank_details(iban_text: str, bic_text: str | None) -> BankDetails:
    """Check an IBAN and, if given, its BIC; derive the BIC from the IBAN's bank code when it is not given."""
    iban = _iban(iban_text)
    if bic_text is None or not bic_text.strip():
        derived = iban.bic
        if derived is None:
            raise InvalidBic(
                f"bic: the bank of this {iban.country_code} IBAN is not in the registry: give its BIC", param="bic"
            )
        return BankDetails(iban.compact, derived.compact)
    bic = _bic(bic_text)
    countries = {iban.country_code} | _IBAN_TERRITORIES.get(iban.country_code, frozenset())
    if bic.country_code not in countries:
        raise InvalidBic(
            f"bic: {bic.compact} is a bank in {bic.country_code}, but the IBAN is from {iban.country_code}", param="bic"
        )
    # Where the registry knows the IBAN's bank, the BIC must be one of that bank's (its first four letters name the
    # institution): a payout sent with another bank's BIC is returned, days later. An unknown bank is taken on trust.
    derived = iban.bic
    if derived is not None and bic.compact[:4] != derived.compact[:4]:
        raise InvalidBic(
            f"bic: {bic.compact} is not a BIC of {iban.bank_name or derived.compact[:4]}, the IBAN's bank"
            f" (whose BIC is {derived.compact})",
            param="bic",
        )
    return BankDetails(iban.compact, bic.compact)

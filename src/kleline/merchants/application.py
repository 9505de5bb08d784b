"""A shop's application, every field checked at once: what ``Merchants.register`` (the API) and the join form
(``/join``) both rely on.

The API answers the first problem (one ``param`` per problem document); a form shows them all, next to their
fields and in a summary. Both come from ``check_application``, which runs each field's check (``checks``,
``phone``) and collects every refusal in the order of ``model.APPLICATION_FIELDS``. ``required`` names the fields
that may not be left blank beyond those every application needs (name, email, IBAN): the API keeps the rest
optional, for the clients written before them; the join form requires more (``merchant_users.joining``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, TypeVar

from kleline.errors import ValidationError
from kleline.merchants import checks
from kleline.merchants.errors import InvalidMerchant
from kleline.merchants.model import APPLICATION_FIELDS, DEFAULT_FEE_BPS, Application
from kleline.merchants.phone import check_phone

__all__ = ["MAX_MALLS", "CheckedApplication", "check_application"]

MAX_MALLS: Final = 20
_T = TypeVar("_T")

# How a missing field is told (the field's own check words a malformed one).
_MISSING: Final = {
    "siret": "siret: give the SIRET of the establishment that sells (14 digits)",
    "vat_number": "vat_number: give the company's intra-community VAT number, such as FR40303265045",
    "contact_name": "contact_name: give the name of the person Kleline may call about the shop",
    "contact_phone": "contact_phone: give a telephone number, such as +33 1 23 45 67 89",
    "website": "website: give the shop's address on the web, such as https://shop.example",
    "category": "category: choose what kind of goods or services the shop sells",
    "description": "description: say in a sentence what the shop sells",
    "mall_ids": "mall_ids: choose at least one mall",
    "bic": "bic: give the bank's BIC",
}


@dataclass(frozen=True, slots=True)
class CheckedApplication:
    """An application whose every field passed its check, in canonical form (malls in the order given, without
    repeats; whether they exist is the database's to say)."""

    name: str
    email: str
    iban: str
    bic: str
    siret: str | None
    vat_number: str | None
    website: str | None
    category: str | None
    description: str | None
    mall_ids: tuple[str, ...]
    fee_bps: int
    contact_name: str | None
    contact_phone: str | None


def _blank(application: Application, field: str) -> bool:
    value = getattr(application, field)
    if field == "mall_ids":
        return not value
    return value is None or (isinstance(value, str) and not value.strip())


def _contact_name(name: str | None) -> str | None:
    return None if name is None or not name.strip() else checks.check_name(name, param="contact_name")


def _malls(mall_ids: tuple[str, ...]) -> tuple[str, ...]:
    malls = tuple(dict.fromkeys(mall_ids))  # keep the order given, drop repeats
    if len(malls) > MAX_MALLS:
        raise InvalidMerchant(f"mall_ids: at most {MAX_MALLS} malls", param="mall_ids")
    return malls


def check_application(
    application: Application, required: frozenset[str] = frozenset()
) -> tuple[CheckedApplication | None, list[ValidationError]]:
    """The application checked, or None and every problem found (in the form's order of fields)."""
    unknown = required - set(APPLICATION_FIELDS)
    if unknown:
        raise ValueError(f"not fields of an application: {', '.join(sorted(unknown))}")
    problems: dict[str, list[ValidationError]] = {field: [] for field in APPLICATION_FIELDS}

    def run(field: str, check: Callable[[], _T]) -> _T | None:
        if field in required and _blank(application, field):
            problems[field].append(InvalidMerchant(_MISSING[field], param=field))
            return None
        try:
            return check()
        except ValidationError as refused:
            problems[refused.param or field].append(refused)
            return None

    a = application
    name = run("name", lambda: checks.check_name(a.name))
    siret = run("siret", lambda: checks.check_siret(a.siret))
    vat_number = run("vat_number", lambda: checks.check_vat_number(a.vat_number, a.siret))
    bank_refusals = checks.bank_problems(a.iban, a.bic)
    for refused in bank_refusals:
        problems[refused.param or "iban"].append(refused)
    bank = None if bank_refusals else checks.bank_details(a.iban, a.bic)
    contact_name = run("contact_name", lambda: _contact_name(a.contact_name))
    email = run("email", lambda: checks.check_email(a.email))
    contact_phone = run("contact_phone", lambda: check_phone(a.contact_phone))
    website = run("website", lambda: checks.check_website(a.website))
    category = run("category", lambda: checks.check_category(a.category))
    description = run("description", lambda: checks.check_description(a.description))
    malls = run("mall_ids", lambda: _malls(a.mall_ids))
    fee_bps = run("fee_bps", lambda: DEFAULT_FEE_BPS if a.fee_bps is None else checks.check_fee_bps(a.fee_bps))
    found = [problem for field in APPLICATION_FIELDS for problem in problems[field]]
    if found or name is None or email is None or bank is None or malls is None or fee_bps is None:
        return None, found
    return (
        CheckedApplication(
            name=name,
            email=email,
            iban=bank.iban,
            bic=bank.bic,
            siret=siret,
            vat_number=vat_number,
            website=website,
            category=category,
            description=description,
            mall_ids=malls,
            fee_bps=fee_bps,
            contact_name=contact_name,
            contact_phone=contact_phone,
        ),
        [],
    )

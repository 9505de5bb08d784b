"""The simulated banks' books: IBAN accounts at banks keyed by BIC, moved only by balanced double entries.

Why double entry inside a simulator: a statement is only worth reconciling against if the bank's own books hold
together. Every movement debits one account and credits another for the same amount, so the sum of every balance
(IBAN accounts plus the simulator's internal accounts) is zero in each currency at all times (``trial_balance``);
the tests check it after every story.

Internal accounts stand for what lies outside the simulated banks: ``funding`` pays for opening balances and admin
adjustments, ``clearing`` carries SEPA money between the moment it leaves one account and the moment it lands or
comes back (a return), ``card:<issuer BIC>`` is the card scheme settling captures with the acquirer. They have no
statements.

An IBAN account opens on first use (any valid IBAN) with ``opening_units`` (1,000,000.00 by default) in each
currency it is first used in, booked against ``funding`` without a statement line: that is the account's opening
balance. Each movement on an IBAN account leaves one statement line with an entry reference unique in the whole
simulator (``E000000000001`` ...), numbered in booking order, so a replayed journal numbers them identically.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final

from schwifty import IBAN
from schwifty.exceptions import SchwiftyException

from kleline.banksim.errors import InvalidIban
from kleline.money import Money, currency_exponent
from kleline.sepa.model import Direction, StatementLine

__all__ = [
    "CLEARING",
    "FUNDING",
    "OPENING_UNITS",
    "Account",
    "Books",
    "Counterparty",
    "Period",
    "Side",
    "card_scheme",
    "normalize_iban",
]

OPENING_UNITS: Final = 1_000_000  # major units: 1,000,000.00 EUR
FUNDING: Final = "funding"
CLEARING: Final = "clearing"
_INTERNAL_NAMES: Final = {FUNDING: "Bank simulator", CLEARING: "SEPA clearing (simulated)"}


def card_scheme(issuer_bic: str) -> str:
    """The internal account through which the issuer ``issuer_bic`` settles card captures and refunds."""
    return f"card:{issuer_bic}"


def normalize_iban(text: str) -> str:
    """``text`` as a compact, upper-case IBAN; anything that is not a valid IBAN raises ``InvalidIban``."""
    return str(_parse_iban(text).compact)


def _parse_iban(text: str) -> IBAN:
    try:
        return IBAN(text)
    except (SchwiftyException, ValueError, TypeError):
        raise InvalidIban("not a valid IBAN (country, length and check digits)", param="iban") from None


@dataclass(frozen=True, slots=True)
class Counterparty:
    """Who a statement line says was on the other side."""

    name: str | None
    iban: str | None


@dataclass(eq=False, slots=True)
class Account:
    """An IBAN account at a simulated bank: balances per currency and the lines not yet on a statement."""

    iban: str
    bic: str
    name: str | None = None
    closed: bool = False
    balances: dict[str, int] = field(default_factory=dict)
    stated: dict[str, int] = field(default_factory=dict)  # closing balance of the last statement, per currency
    unstated: dict[str, list[StatementLine]] = field(default_factory=dict)

    def balance(self, currency: str) -> Money:
        """The booked balance in ``currency`` (zero before ``Books.ensure_currency`` gave it its opening balance)."""
        return Money(self.balances.get(currency, 0), currency)


# One side of a movement: an IBAN account, or the name of an internal account (FUNDING, CLEARING, card_scheme(...)).
Side = Account | str


@dataclass(frozen=True, slots=True)
class Period:
    """What an account's statement covers: the balance it starts from, its lines, the balance it ends on."""

    opening: Money
    lines: tuple[StatementLine, ...]
    closing: Money


class Books:
    """Every simulated bank's accounts and the internal accounts; not thread-safe (the simulator holds one lock)."""

    def __init__(self, opening_units: int = OPENING_UNITS) -> None:
        self._opening_units = opening_units
        self._banks: dict[str, dict[str, Account]] = {}  # BIC -> IBAN -> account
        self._accounts: dict[str, Account] = {}  # IBAN -> account, whatever its bank
        self._internal: dict[tuple[str, str], int] = {}
        self._bics: dict[tuple[str, str], str] = {}
        self._entries = 0

    def find(self, iban: str) -> Account | None:
        """The account of ``iban`` (compact form) if it was ever used."""
        return self._accounts.get(iban)

    def open(self, iban: str, *, bic: str | None = None, name: str | None = None) -> Account:
        """The account of ``iban``, opened now at ``bic`` (or the IBAN's own bank) if it is new."""
        # Known accounts are found without parsing the IBAN again: a 10,000-payout file names thousands of them.
        account = self._accounts.get(iban)
        if account is None:
            parsed = _parse_iban(iban)
            account = self._accounts.get(str(parsed.compact)) or self._new_account(parsed, bic, name)
        if account.name is None and name:
            account.name = name
        return account

    def _new_account(self, iban: IBAN, bic: str | None, name: str | None) -> Account:
        bank = bic or self._bank_of(iban)
        account = self._accounts[str(iban.compact)] = Account(str(iban.compact), bank, name)
        self._banks.setdefault(bank, {})[account.iban] = account
        return account

    def balance_of(self, iban: str, currency: str) -> Money:
        """What ``iban`` holds in ``currency``, opening nothing: an account not yet used holds its opening balance."""
        account = self._accounts.get(iban)
        if account is not None and currency in account.balances:
            return account.balance(currency)
        return Money(self._opening_units * 10 ** currency_exponent(currency), currency)

    def banks(self) -> dict[str, tuple[str, ...]]:
        """Each simulated bank's BIC and the IBANs of its accounts."""
        return {bic: tuple(accounts) for bic, accounts in sorted(self._banks.items())}

    def ensure_currency(self, account: Account, currency: str) -> None:
        """Give ``account`` its opening balance in ``currency`` the first time it is used in it."""
        if currency not in account.balances:
            opening = self._opening_units * 10 ** currency_exponent(currency)
            account.balances[currency] = account.stated[currency] = opening
            account.unstated[currency] = []
            self._add_internal(FUNDING, currency, -opening)

    def move(
        self,
        debit: Side,
        credit: Side,
        amount: Money,
        at: datetime,
        *,
        end_to_end_id: str | None = None,
        return_reason: str | None = None,
        remittance: str | None = None,
        debit_sees: Counterparty | None = None,
        credit_sees: Counterparty | None = None,
    ) -> None:
        """Move a positive ``amount`` from ``debit`` to ``credit``; each IBAN side gets a statement line, which shows
        the other side (or ``debit_sees`` / ``credit_sees`` when the money went through clearing)."""
        if amount.minor <= 0:
            raise ValueError(f"a movement is of a positive amount, not {amount}")
        for side, sign, direction, sees, other in (
            (debit, -1, Direction.DEBIT, debit_sees, credit),
            (credit, +1, Direction.CREDIT, credit_sees, debit),
        ):
            if isinstance(side, str):
                self._add_internal(side, amount.currency, sign * amount.minor)
                continue
            self.ensure_currency(side, amount.currency)
            side.balances[amount.currency] += sign * amount.minor
            self._entries += 1
            shown = sees or _identity(other)
            side.unstated[amount.currency].append(
                StatementLine(
                    entry_ref=f"E{self._entries:012d}",
                    amount=amount,
                    direction=direction,
                    booking_date=at.astimezone(UTC).date(),
                    end_to_end_id=_reference(end_to_end_id),
                    return_reason=_reference(return_reason),
                    counterparty_name=_text(shown.name, 140),
                    counterparty_iban=shown.iban,
                    remittance=_text(remittance, 140),
                )
            )

    def set_balance(self, account: Account, balance: Money, at: datetime) -> None:
        """Bring ``account`` to ``balance`` with an adjustment against ``funding`` that its statement shows, so that
        every statement still adds up (opening + lines = closing)."""
        self.ensure_currency(account, balance.currency)
        difference = balance.minor - account.balances[balance.currency]
        if difference > 0:
            self.move(FUNDING, account, Money(difference, balance.currency), at, remittance="Balance adjustment")
        elif difference < 0:
            self.move(account, FUNDING, Money(-difference, balance.currency), at, remittance="Balance adjustment")

    def period(self, account: Account, currency: str) -> Period:
        """Everything booked on ``account`` in ``currency`` since its last statement (nothing changes)."""
        self.ensure_currency(account, currency)
        lines = tuple(account.unstated[currency])
        opening = Money(account.stated[currency], currency)
        closing = account.balance(currency)
        moved = sum(line.amount.minor if line.direction is Direction.CREDIT else -line.amount.minor for line in lines)
        if opening.minor + moved != closing.minor:  # the books themselves would be wrong: never issue that
            raise AssertionError(f"statement of {account.iban} does not add up: {opening} + {moved} != {closing}")
        return Period(opening, lines, closing)

    def end_period(self, account: Account, period: Period) -> None:
        """Start the next period of ``account`` after ``period`` was stated (its lines leave the pending list)."""
        currency = period.closing.currency
        pending = account.unstated[currency]
        if tuple(pending[: len(period.lines)]) != period.lines:
            raise AssertionError(f"the period of {account.iban} changed before it was stated")
        del pending[: len(period.lines)]
        account.stated[currency] = period.closing.minor

    def internal_balance(self, name: str, currency: str) -> Money:
        """The balance of an internal account (negative: money it has put into the IBAN accounts)."""
        return Money(self._internal.get((name, currency), 0), currency)

    def trial_balance(self) -> dict[str, Money]:
        """The sum of every balance per currency: all zero when the books balance."""
        totals: dict[str, int] = {}
        for account in self._accounts.values():
            for currency, minor in account.balances.items():
                totals[currency] = totals.get(currency, 0) + minor
        for (_name, currency), minor in self._internal.items():
            totals[currency] = totals.get(currency, 0) + minor
        return {currency: Money(minor, currency) for currency, minor in sorted(totals.items())}

    def _bank_of(self, iban: IBAN) -> str:
        """The BIC of the bank that keeps ``iban``: the real one when schwifty's registry knows it, else a simulated
        bank per country (``KLSB<country>P1``); remembered per national bank code (the registry look-up is slow)."""
        key = (str(iban.country_code), str(iban.bank_code))
        bank = self._bics.get(key)
        if bank is None:
            try:
                bic = iban.bic
            except SchwiftyException:
                bic = None
            bank = self._bics[key] = str(bic) if bic is not None else f"KLSB{key[0]}P1"
        return bank

    def _add_internal(self, name: str, currency: str, minor: int) -> None:
        self._internal[(name, currency)] = self._internal.get((name, currency), 0) + minor


def _text(value: str | None, limit: int) -> str | None:
    """What a statement can carry of a free text: trimmed to ``limit`` characters, None when blank (files may
    leave a remittance empty; camt.053 wants no empty element)."""
    if value is None:
        return None
    trimmed = " ".join(value.split())[:limit].strip()
    return trimmed or None


def _reference(value: str | None) -> str | None:
    """An identifier as a statement can carry it: no surrounding spaces, None when blank, at most 35 characters
    (SEPA references are; a card refund's reference may be longer on ISO 8583, and a statement that cannot be
    written would hide every other line)."""
    return (value.strip()[:35].strip() or None) if value is not None else None


def _identity(side: Side) -> Counterparty:
    if isinstance(side, Account):
        return Counterparty(side.name, side.iban)
    return Counterparty(_INTERNAL_NAMES.get(side, side), None)

"""Cards in a customer's wallet: registered after a zero-amount check at the issuer, sealed, listed, removed.

Registering a card, in this order:

1. The number (Luhn, brand, length), the expiry (against the clock's today) and the security code's shape are
   checked here; a card that breaks a rule never reaches a bank. The holder name is checked too.
2. A card this customer already holds (same keyed fingerprint, live) is refused with ``card_already_registered``
   before the issuer is asked again; the database's partial unique index settles a race between two requests.
3. The issuer verifies the card with a zero-amount authorisation (nothing is held). A decline raises
   ``CardDeclined`` (402, ``card_declined``) carrying the issuer's reason as a stable ``decline_code`` (see
   ``kleline.banks.declines``). An approval whose security-code check failed is refused all the same
   (``incorrect_cvc``): some issuers approve a verification whatever the code, and a card saved with a wrong code
   would fail at its first payment.
4. The number is sealed under the active master key and stored beside its fingerprint.

A verification answered "strong customer authentication required" (1A) registers the card: a zero-amount check
moves no money, so there is nothing to authenticate yet, the issuer has recognised the card (and its security code,
which it checks first); the challenge belongs to each payment or top-up made with it.

The security code goes to the issuer inside ``CardDetails`` (whose ``repr`` masks it) and is then dropped: it is
never stored, logged or returned (PCI DSS forbids keeping it after authorisation, even encrypted). Logs name cards
by id, brand and last four digits only.

Errors raised here, besides the card checks of ``kleline.wallet.cards``::

    KlelineError
     ├── ValidationError ── (holder name refused, code validation_error)
     ├── Conflict ───────── CardAlreadyRegistered   the customer already holds this card
     ├── NotFound ───────── CardNotFound            no such live card in this customer's wallet
     └── CardDeclined                               the issuer declined the verification (402)

Key rotation (``rotate_keys``) re-wraps every record, removed ones included, whose data key is not under the active
master key: in batches, each its own transaction, so an interrupted run keeps what it did and a new run resumes.
"""

from __future__ import annotations

import builtins
import logging
import unicodedata
from datetime import datetime
from typing import Final, NoReturn

from kleline.banks import BankNetwork, CardDetails, CvcResult, decline_code, decline_message
from kleline.clock import Clock, epoch_us
from kleline.db.engine import INTEGRITY_ERRORS, Database, Read
from kleline.errors import Conflict, KlelineError, NotFound, ValidationError
from kleline.ids import new_id
from kleline.wallet import card_store
from kleline.wallet.cards import InvalidCvc, check_cvc, check_expiry, parse_card_number
from kleline.wallet.model import Card
from kleline.wallet.vault import MasterKeys, fingerprint, open_sealed, rewrap, seal

__all__ = ["CardAlreadyRegistered", "CardDeclined", "CardNotFound", "RegisteredCards", "card_problems"]

log = logging.getLogger(__name__)

MAX_HOLDER_NAME: Final = 200  # the column's width
ROTATION_BATCH: Final = 100
_MAX_DIGITS_IN_NAME: Final = 11  # a name with a card number's worth of digits is a number pasted in the wrong field

# Declines that a field of the form can fix: the problem document names it, so that a form can point at it.
_DECLINE_PARAMS: Final = {"incorrect_cvc": "cvc", "invalid_card_number": "number"}


class CardAlreadyRegistered(Conflict):
    """The customer already holds this card (same number) in the wallet; remove it first to register it anew."""

    code = "card_already_registered"


class CardNotFound(NotFound):
    """No live card with this id in the customer's wallet (unknown, removed, or another customer's: we do not say)."""


class CardDeclined(KlelineError):
    """The issuer declined the card's zero-amount verification; ``decline_code`` says why, in stable words."""

    code = "card_declined"
    status = 402

    def __init__(self, decline_code: str) -> None:
        super().__init__(decline_message(decline_code), param=_DECLINE_PARAMS.get(decline_code))
        self.decline_code = decline_code

    def extensions(self) -> dict[str, object]:
        """The problem document carries ``decline_code``."""
        return {"decline_code": self.decline_code}


def card_problems(
    number: str, exp_month: int | None, exp_year: int | None, cvc: str, holder_name: str, today: datetime
) -> list[KlelineError]:
    """Every rule a card breaks (number, expiry, security code, holder name), all of them, so that a form can show
    them together; empty when the card may go to its issuer. ``exp_month`` or ``exp_year`` is None when the form
    could not read it as a number (the form says so itself)."""
    problems: list[KlelineError] = []
    brand = None
    try:
        brand = parse_card_number(number).brand
    except KlelineError as refused:
        problems.append(refused)
    if exp_month is not None and exp_year is not None:
        try:
            check_expiry(exp_month, exp_year, today)
        except KlelineError as refused:
            problems.append(refused)
    if brand is not None:
        try:
            check_cvc(cvc, brand)
        except KlelineError as refused:
            problems.append(refused)
    elif not (isinstance(cvc, str) and 3 <= len(cvc) <= 4 and cvc.isascii() and cvc.isdigit()):
        problems.append(InvalidCvc("the security code has 3 digits (4 for American Express)", param="cvc"))
    try:
        _holder_name(holder_name)
    except KlelineError as refused:
        problems.append(refused)
    return problems


def _holder_name(text: str) -> str:
    if not isinstance(text, str):
        raise ValidationError("holder_name: the name printed on the card, as text", param="holder_name")
    name = " ".join(text.split())
    if not 1 <= len(name) <= MAX_HOLDER_NAME:
        raise ValidationError(f"holder_name: give 1 to {MAX_HOLDER_NAME} characters", param="holder_name")
    if any(unicodedata.category(char) in ("Cc", "Cf") for char in name):
        raise ValidationError("holder_name: control characters are not allowed", param="holder_name")
    if sum(char.isdigit() for char in name) > _MAX_DIGITS_IN_NAME:
        # Stored in clear, so a card number typed here by mistake must not get in.
        raise ValidationError("holder_name: the name printed on the card, not its number", param="holder_name")
    return name


class RegisteredCards:
    """Register, list, remove and open the cards of customers' wallets; re-wrap them when master keys rotate."""

    def __init__(
        self,
        db: Database,
        bank: BankNetwork,
        master_keys: MasterKeys,
        fingerprint_key: bytes,
        clock: Clock,
        *,
        rotation_batch: int = ROTATION_BATCH,
    ) -> None:
        if rotation_batch < 1:
            raise ValueError("rotation_batch must be at least 1")
        self._db = db
        self._bank = bank
        self._keys = master_keys
        self._fingerprint_key = fingerprint_key
        self._clock = clock
        self._rotation_batch = rotation_batch

    @property
    def active_key_id(self) -> str:
        """The master key new cards are sealed under, and that ``rotate_keys`` moves records to."""
        return self._keys.active_id

    def register(
        self, customer_id: str, number: str, exp_month: int, exp_year: int, cvc: str, holder_name: str
    ) -> Card:
        """Check the card, verify it at its issuer with a zero-amount authorisation, seal it and save it."""
        now = self._clock()
        problems = card_problems(number, exp_month, exp_year, cvc, holder_name, now)
        if problems:
            raise problems[0]
        card_number = parse_card_number(number)
        name = _holder_name(holder_name)
        card_fingerprint = fingerprint(card_number, self._fingerprint_key)
        with self._db.transaction(write=False) as tx:
            if card_store.find_live_by_fingerprint(tx, customer_id, card_fingerprint, self._keys) is not None:
                raise CardAlreadyRegistered("this card is already in your wallet", param="number")

        verification = self._bank.verify_card(CardDetails(card_number.digits, exp_month, exp_year, cvc))
        if verification.cvc_result is CvcResult.NO_MATCH:
            self._declined(customer_id, card_number.brand.value, card_number.last4, verification.code, "incorrect_cvc")
        if not verification.approved and not verification.requires_sca:
            reason = decline_code(verification.code)
            self._declined(customer_id, card_number.brand.value, card_number.last4, verification.code, reason)

        card = Card(
            id=new_id("card"),
            customer_id=customer_id,
            brand=card_number.brand.value,
            first6=card_number.first6,
            last4=card_number.last4,
            exp_month=exp_month,
            exp_year=exp_year,
            holder_name=name,
            created_at=now,
        )
        try:
            with self._db.transaction() as tx:
                card_store.insert_card(tx, card, card_fingerprint, seal(card_number, self._keys), self._keys)
        except INTEGRITY_ERRORS:
            # A concurrent request registered the same card first; anything else is not ours to hide.
            with self._db.transaction(write=False) as tx:
                if card_store.find_live_by_fingerprint(tx, customer_id, card_fingerprint, self._keys) is None:
                    raise
            raise CardAlreadyRegistered("this card is already in your wallet", param="number") from None
        log.info("card %s registered for %s (%s ending %s)", card.id, customer_id, card.brand, card.last4)
        return card

    def problems(
        self, number: str, exp_month: int | None, exp_year: int | None, cvc: str, holder_name: str
    ) -> builtins.list[KlelineError]:
        """Every rule the card breaks, today (see ``card_problems``): what ``register`` would refuse before asking
        the issuer, all at once."""
        return card_problems(number, exp_month, exp_year, cvc, holder_name, self._clock())

    def _declined(self, customer_id: str, brand: str, last4: str, response_code: str, reason: str) -> NoReturn:
        log.info(
            "card verification declined for %s (%s ending %s): %s, response code %s",
            customer_id,
            brand,
            last4,
            reason,
            response_code,
        )
        raise CardDeclined(reason)

    def list(
        self, customer_id: str, *, limit: int | None = None, starting_after: str | None = None
    ) -> builtins.list[Card]:
        """The customer's live cards, newest first; a page of ``limit`` after card ``starting_after`` if given."""
        with self._db.transaction(write=False) as tx:
            after = None
            if starting_after is not None:
                after = card_store.find_card(tx, customer_id, starting_after, self._keys, include_deleted=True)
                if after is None:
                    raise CardNotFound(f"no card {starting_after} in this wallet", param="starting_after")
            return card_store.list_cards(tx, customer_id, self._keys, limit=limit, after=after)

    def list_read(self, customer_id: str) -> Read[builtins.list[Card]]:
        """Every live card of the customer (``list`` without a page), as a read that may travel with a page's others
        in one round trip (``RawTx.read_all``)."""
        return card_store.cards_read(customer_id, self._keys)

    def get(self, customer_id: str, card_id: str) -> Card:
        """One live card of the customer; ``CardNotFound`` for an unknown, removed or another customer's card."""
        with self._db.transaction(write=False) as tx:
            card = card_store.find_card(tx, customer_id, card_id, self._keys)
        if card is None:
            raise CardNotFound(f"no card {card_id} in this wallet", param="card_id")
        return card

    def remove(self, customer_id: str, card_id: str) -> None:
        """Remove a card from the wallet (its record stays, marked removed, for the payments that name it)."""
        with self._db.transaction() as tx:
            removed = card_store.mark_deleted(tx, customer_id, card_id, epoch_us(self._clock()))
        if not removed:
            raise CardNotFound(f"no card {card_id} in this wallet", param="card_id")
        log.info("card %s removed by %s", card_id, customer_id)

    def card_details(self, customer_id: str, card_id: str) -> CardDetails:
        """Open a live card's sealed number for a payment; no security code (it was never kept)."""
        with self._db.transaction(write=False) as tx:
            found = card_store.sealed_number(tx, customer_id, card_id, self._keys)
        if found is None:
            raise CardNotFound(f"no card {card_id} in this wallet", param="card_id")
        card, sealed = found
        return CardDetails(open_sealed(sealed, self._keys).digits, card.exp_month, card.exp_year)

    def rotate_keys(self) -> int:
        """Re-wrap every card record not under the active master key, a batch per transaction; how many moved."""
        active = self._keys.active_id
        moved = 0
        while True:
            with self._db.transaction() as tx:
                batch = card_store.cards_to_rewrap(tx, active, self._rotation_batch)
                for card_id, sealed in batch:
                    if card_store.replace_wrapping(tx, card_id, sealed.key_id, rewrap(sealed, self._keys)):
                        moved += 1
            if batch:
                log.info("re-wrapped %d card records under master key %s so far", moved, active)
            if len(batch) < self._rotation_batch:
                return moved

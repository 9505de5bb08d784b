"""What the settings alone decide, checked before anything is opened: the vault's and the receipts' keys, the card
network ``KLELINE_BANK_URL`` names, Kleline's own bank account, and the box that seals webhook secrets.

Kept apart from the composition root (``kleline.bootstrap``) so that ``check_settings`` can refuse a bad
configuration without building anything, and so that the root stays a readable list of services.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from stdnum.eu import at_02 as sepa_creditor_id

from kleline.banks import InProcessTransport, IsoBankNetwork, SandboxIssuers
from kleline.banks.reversals import ReversalQueue
from kleline.banks.sandbox_db import DatabaseSandboxStore
from kleline.banks.tcp import TcpTransport
from kleline.clock import Clock
from kleline.config import SANDBOX_BANK_URL, Settings
from kleline.db.engine import Database
from kleline.errors import KlelineError, ValidationError
from kleline.events.model import SealedSecret
from kleline.merchants.checks import bank_details
from kleline.privacy.pseudonyms import Pseudonyms
from kleline.receipts import InvalidSigningKeyConfig, SigningKeys
from kleline.sepa.model import OwnAccount
from kleline.wallet.personal_data import PersonalDataKeys, index_key_from_config
from kleline.wallet.vault import (
    InvalidKeyConfig,
    MasterKeys,
    SealedCard,
    fingerprint_key_from_config,
    open_bytes,
    rewrap,
    seal_bytes,
)

__all__ = [
    "InvalidBankAccountConfig",
    "UnsupportedBankUrl",
    "VaultKeys",
    "WebhookSecretBox",
    "bank_network",
    "check_bank_url",
    "check_settings",
    "own_account",
    "pseudonyms",
    "personal_data_keys",
    "receipt_signing_keys",
    "vault_keys",
]


class InvalidBankAccountConfig(KlelineError):
    """Kleline's own bank account (safeguarding IBAN, BIC, holder, creditor id) is not usable."""

    code = "invalid_bank_account_config"
    status = 500


class UnsupportedBankUrl(KlelineError):
    """``KLELINE_BANK_URL`` names a way of reaching the issuers that this version does not have."""

    code = "unsupported_bank_url"
    status = 500


@dataclass(frozen=True, slots=True)
class VaultKeys:
    """The card vault's keys, decoded and checked: master keys (sealing) and the fingerprint key (never rotated)."""

    master_keys: MasterKeys
    fingerprint_key: bytes = field(repr=False)


def vault_keys(settings: Settings) -> VaultKeys:
    """Decode the configured vault keys; development keys are refused outside development (``InvalidKeyConfig``)."""
    try:
        master_keys = MasterKeys.from_config(settings.master_keys.get_secret_value(), settings.env)
    except InvalidKeyConfig as error:
        raise InvalidKeyConfig(f"KLELINE_MASTER_KEYS: {error.detail}") from None
    try:
        fingerprint_key = fingerprint_key_from_config(settings.fingerprint_key.get_secret_value(), settings.env)
    except InvalidKeyConfig as error:
        raise InvalidKeyConfig(f"KLELINE_FINGERPRINT_KEY: {error.detail}") from None
    return VaultKeys(master_keys, fingerprint_key)


def pseudonyms(settings: Settings) -> Pseudonyms:
    """The per-merchant pseudonyms' key, decoded and checked; the development key is refused outside development."""
    try:
        return Pseudonyms.from_config(settings.pseudonym_key.get_secret_value(), settings.env)
    except InvalidKeyConfig as error:
        raise InvalidKeyConfig(f"KLELINE_PSEUDONYM_KEY: {error.detail}") from None


def personal_data_keys(settings: Settings) -> PersonalDataKeys:
    """The keys of customers' personal data: the vault's master keys wrap each customer's data key, and the index
    key hashes their email and search prefixes; development keys are refused outside development."""
    try:
        index_key = index_key_from_config(settings.customer_index_key.get_secret_value(), settings.env)
    except InvalidKeyConfig as error:
        raise InvalidKeyConfig(f"KLELINE_CUSTOMER_INDEX_KEY: {error.detail}") from None
    return PersonalDataKeys(vault_keys(settings).master_keys, index_key)


def receipt_signing_keys(settings: Settings) -> SigningKeys:
    """Decode the receipt signing keys; the development key is refused outside development."""
    try:
        return SigningKeys.from_config(settings.receipt_signing_keys.get_secret_value(), settings.env)
    except InvalidSigningKeyConfig as error:
        raise InvalidSigningKeyConfig(f"KLELINE_RECEIPT_SIGNING_KEYS: {error.detail}") from None


def bank_network(
    settings: Settings, clock: Clock, db: Database, *, reversals: ReversalQueue | None = None
) -> IsoBankNetwork:
    """The card issuers ``KLELINE_BANK_URL`` names: the in-process sandbox (``sandbox:``), whose books are kept in
    ``db`` (so they outlive the process and every process on the database shares them), or a card network over TCP
    (``iso8583://HOST:PORT``, e.g. ``kleline bank serve``), whose lost answers queue their reversals in
    ``reversals``. Nothing is opened here: connections open when first needed, so a network not yet up does not stop
    a start."""
    address = _bank_address(settings)
    if address is None:
        store = DatabaseSandboxStore(db, vault_keys(settings).fingerprint_key)
        transport: InProcessTransport | TcpTransport = InProcessTransport(SandboxIssuers(clock=clock, store=store))
    else:
        host, port = address
        transport = TcpTransport(host, port, pool_size=settings.bank_pool_size, timeout=settings.bank_timeout_seconds)
    return IsoBankNetwork(transport, clock=clock, reversals=reversals)


def check_bank_url(settings: Settings) -> None:
    """Refuse a ``KLELINE_BANK_URL`` that names no way of reaching the issuers this version has."""
    _bank_address(settings)


def _bank_address(settings: Settings) -> tuple[str, int] | None:
    """Where the card network is (None: the in-process sandbox)."""
    url = settings.bank_url.strip()
    return None if url == SANDBOX_BANK_URL else _iso8583_address(url)


def _iso8583_address(url: str) -> tuple[str, int]:
    # Name the scheme only in errors: a URL may carry credentials.
    scheme = url.partition(":")[0][:20] or "(empty)"
    if scheme != "iso8583":
        raise UnsupportedBankUrl(
            f"KLELINE_BANK_URL: only {SANDBOX_BANK_URL!r} (the in-process sandbox issuers) or 'iso8583://HOST:PORT' "
            f"(a card network over TCP) are supported, not a {scheme!r} URL"
        )
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    if not parts.hostname or port is None or parts.username or parts.path.strip("/") or parts.query:
        raise UnsupportedBankUrl("KLELINE_BANK_URL: an iso8583 URL is iso8583://HOST:PORT, nothing more")
    return parts.hostname, port


def own_account(settings: Settings) -> OwnAccount:
    """Kleline's safeguarding account as SEPA files name it; an invalid IBAN or BIC is refused at start."""
    try:
        details = bank_details(settings.safeguarding_iban, settings.safeguarding_bic)
    except ValidationError as error:
        raise InvalidBankAccountConfig(f"KLELINE_SAFEGUARDING_IBAN/BIC: {error.detail}") from None
    name = settings.safeguarding_name.strip()
    if not name:
        raise InvalidBankAccountConfig("KLELINE_SAFEGUARDING_NAME: the account holder's name is empty")
    creditor_id = settings.sepa_creditor_id.replace(" ", "").upper()
    if not sepa_creditor_id.is_valid(creditor_id):
        raise InvalidBankAccountConfig("KLELINE_SEPA_CREDITOR_ID: not a valid SEPA creditor identifier")
    return OwnAccount(details.iban, details.bic, name, creditor_id)


def check_settings(settings: Settings) -> None:
    """Refuse unusable or unsafe settings (keys, bank, own account) before anything is opened or migrated."""
    vault_keys(settings)
    receipt_signing_keys(settings)
    pseudonyms(settings)
    check_bank_url(settings)
    own_account(settings)
    personal_data_keys(settings)


class WebhookSecretBox:
    """Webhook endpoints' signing secrets, sealed by the card vault under the master keys; handed to events from
    here because the vault lives in the wallet, which events (a sibling package) must not import."""

    _PURPOSE = b"kleline-webhook-secret-v1"

    def __init__(self, keys: MasterKeys) -> None:
        self._keys = keys

    @property
    def active_key_id(self) -> str:
        """The master key new secrets are sealed under."""
        return self._keys.active_id

    def seal(self, plaintext: bytes) -> SealedSecret:
        """Seal a secret under the active master key."""
        return _secret(seal_bytes(plaintext, self._keys, self._PURPOSE))

    def open(self, sealed: SealedSecret) -> bytes:
        """Recover a sealed secret (``VaultError`` if it was altered)."""
        return open_bytes(_card(sealed), self._keys, self._PURPOSE)

    def rewrap(self, sealed: SealedSecret) -> SealedSecret:
        """The same secret wrapped under the active master key."""
        return _secret(rewrap(_card(sealed), self._keys))


def _secret(sealed: SealedCard) -> SealedSecret:
    return SealedSecret(sealed.key_id, sealed.wrapped_key, sealed.nonce, sealed.ciphertext)


def _card(sealed: SealedSecret) -> SealedCard:
    return SealedCard(sealed.key_id, sealed.wrapped_key, sealed.nonce, sealed.ciphertext)

"""Settings: the only module that reads the environment (``KLELINE_*`` variables).

Unsafe development defaults are refused when ``KLELINE_ENV=production``, so that a forgotten variable fails the
start rather than running a production system on a published key. The card vault's keys are read here as
``SecretStr`` (masked in every ``repr``, so that printing the settings cannot leak them) and checked where they are
decoded, by the composition root (``kleline.bootstrap``), with the vault's rules. A development convenience that
opens a hole is refused here, where it is read: ``KLELINE_WEBHOOKS_ALLOW_LOOPBACK`` (webhooks to loopback and private
addresses, the very server-side request forgery ``events.ssrf`` exists to stop) makes ``load_settings`` fail.
"""

from __future__ import annotations

from typing import Final, Literal

from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException

__all__ = [
    "DEVELOPMENT_CUSTOMER_INDEX_KEY",
    "DEVELOPMENT_FINGERPRINT_KEY",
    "DEVELOPMENT_MASTER_KEYS",
    "DEVELOPMENT_PSEUDONYM_KEY",
    "DEVELOPMENT_RECEIPT_SIGNING_KEYS",
    "DEVELOPMENT_SAFEGUARDING_BIC",
    "DEVELOPMENT_SAFEGUARDING_IBAN",
    "DEVELOPMENT_SEPA_CREDITOR_ID",
    "SANDBOX_BANK_URL",
    "Settings",
    "load_settings",
]

# Published keys (they decode to readable ASCII), so that development runs without configuration; refused in
# production. They live here, at the bottom layer, so that the settings' defaults and the vault (which re-exports
# them as ``kleline.wallet.vault.DEVELOPMENT_*``) share one definition.
DEVELOPMENT_MASTER_KEYS: Final = "dev1:a2xlbGluZS1kZXZlbG9wbWVudC1tYXN0ZXIta2V5ISE="
DEVELOPMENT_FINGERPRINT_KEY: Final = "a2xlbGluZS1kZXZlbG9wbWVudC1maW5nZXJwcmludCE="
DEVELOPMENT_PSEUDONYM_KEY: Final = "a2xlbGluZS1kZXZlbG9wbWVudC1wc2V1ZG9ueW0ta2V5ISE="
DEVELOPMENT_CUSTOMER_INDEX_KEY: Final = "a2xlbGluZS1kZXZlbG9wbWVudC1jdXN0b21lci1pbmRleCE="
DEVELOPMENT_RECEIPT_SIGNING_KEYS: Final = "dev1:a2xlbGluZS1kZXZlbG9wbWVudC1yZWNlaXB0LWtleSE="  # Ed25519 seed
SANDBOX_BANK_URL: Final = "sandbox:"
# Kleline's account at the simulated partner bank (kleline bank serve), and a SEPA creditor id of the test format.
DEVELOPMENT_SAFEGUARDING_IBAN: Final = "FR7630003000000005000000167"
DEVELOPMENT_SAFEGUARDING_BIC: Final = "SOGEFRPP"
DEVELOPMENT_SEPA_CREDITOR_ID: Final = "FR72ZZZ123456"


class Settings(BaseSettings):
    """Every ``KLELINE_*`` setting, with its default; ``kleline config`` lists them."""

    model_config = SettingsConfigDict(env_prefix="KLELINE_", extra="ignore", frozen=True)

    env: Literal["development", "production"] = Field(
        "development", description="development or production (production refuses development defaults)"
    )
    database_url: str = Field(
        "sqlite:///kleline.db", description="SQLAlchemy URL; SQLite file (WAL) by default, postgresql+psycopg://..."
    )
    host: str = Field("127.0.0.1", description="address kleline serve listens on")
    port: int = Field(8000, description="port kleline serve listens on")
    chain_shards: int = Field(16, ge=1, le=1024, description="hash chains the journal is split over")
    db_pool_size: int = Field(
        8,
        ge=1,
        description="database connections a process may hold (a transaction's nested read may go up to twice as "
        "many); requests beyond it queue",
    )
    db_pool_timeout_seconds: float = Field(
        5.0, gt=0, le=60, description="how long a request queues for a database connection before a 503"
    )

    customer_token_ttl_seconds: int = Field(3600, ge=60, description="lifetime of a customer token (ct_...)")
    sign_in_lockout_failures: int = Field(10, ge=1, description="failed sign-ins in a row that lock a customer out")
    sign_in_lockout_minutes: int = Field(30, ge=1, description="how long a locked-out customer waits")
    unverified_max_balance: int = Field(15_000, ge=0, description="purse ceiling of an unverified customer (cents)")
    unverified_monthly_top_up: int = Field(
        15_000, ge=0, description="top-ups an unverified customer may make per calendar month (cents)"
    )
    verified_max_balance: int = Field(500_000, ge=0, description="purse ceiling of a verified customer (cents)")
    verified_monthly_top_up: int = Field(
        500_000, ge=0, description="top-ups a verified customer may make per calendar month (cents)"
    )
    sca_single_limit: int = Field(3_000, ge=1, description="largest payment that may skip strong authentication")
    sca_exemption_mode: Literal["cumulative", "count"] = Field(
        "cumulative", description="which counter ends exemptions: cumulated amount or number of payments"
    )
    sca_cumulative_limit: int = Field(
        10_000, ge=1, description="exempt payments allowed in total since the last challenge (cents)"
    )
    sca_max_payments: int = Field(5, ge=1, description="exempt payments allowed in number since the last challenge")

    master_keys: SecretStr = Field(
        SecretStr(DEVELOPMENT_MASTER_KEYS),
        description="card vault master keys 'id:base64(32 bytes),...', the active one first (development keys "
        "by default, refused in production)",
    )
    fingerprint_key: SecretStr = Field(
        SecretStr(DEVELOPMENT_FINGERPRINT_KEY),
        description="key of the card fingerprints that spot a card registered twice, base64 of 32 bytes or more; "
        "never rotated (development key by default, refused in production)",
    )
    pseudonym_key: SecretStr = Field(
        SecretStr(DEVELOPMENT_PSEUDONYM_KEY),
        description="key of the per-merchant customer pseudonyms (cpn_...), base64 of 32 bytes or more; never "
        "rotated, or every merchant sees new customers (development key by default, refused in production)",
    )
    customer_index_key: SecretStr = Field(
        SecretStr(DEVELOPMENT_CUSTOMER_INDEX_KEY),
        description="key of the customers' blind email index and search tokens (their personal data is sealed), "
        "base64 of 32 bytes or more; never rotated (development key by default, refused in production)",
    )
    erasure_retention_years: int = Field(
        5,
        ge=0,
        le=30,
        description="years an erased customer's restricted data is kept for legal obligations (anti-money "
        "laundering) after the relationship ends, before its key is destroyed",
    )
    bank_url: str = Field(
        SANDBOX_BANK_URL,
        description="where the card issuers are reached: 'sandbox:' (in-process) or 'iso8583://HOST:PORT' "
        "(kleline bank serve)",
    )
    public_url: str = Field(
        "http://127.0.0.1:8000", description="the address customers reach Kleline's pages at (checkout links)"
    )
    authorization_ttl_hours: int = Field(
        168, ge=1, description="how long an uncaptured payment authorisation lasts before the sweep releases it"
    )
    # -- merchants (issue 4) --
    # -- idempotency (issue 4) --
    idempotency_retention_hours: int = Field(
        24, ge=1, description="how long the first answer to an Idempotency-Key is kept and replayed"
    )
    idempotency_lock_timeout_seconds: int = Field(
        15,
        ge=2,
        description="lease of a request that holds an Idempotency-Key: renewed while it runs, so that a retry may "
        "run this long after its process died (keep it well above KLELINE_DB_POOL_TIMEOUT_SECONDS)",
    )
    # -- events and webhooks (issue 4) --
    webhooks_allow_loopback: bool = Field(
        False,
        description="let webhook endpoints point at loopback and private addresses (tests and the demo; refused "
        "in production); link-local, multicast and reserved addresses stay refused",
    )

    @field_validator("webhooks_allow_loopback")
    @classmethod
    def _no_loopback_webhooks_in_production(cls, allowed: bool, info: ValidationInfo) -> bool:
        # A field validator rather than a model one: its error repeats only this field's value, never the keys.
        if allowed and info.data.get("env") == "production":
            raise ValueError(
                "KLELINE_WEBHOOKS_ALLOW_LOOPBACK=true is refused when KLELINE_ENV is 'production': it would let "
                "merchants' webhooks reach Kleline's own machine and private network; unset it"
            )
        return allowed

    webhook_timeout_seconds: float = Field(
        5.0, gt=0, le=60, description="how long one webhook delivery may take, connection included"
    )
    webhook_retry_hours: int = Field(
        72, ge=1, description="how long a webhook delivery is retried after its event before it is given up"
    )
    webhook_backoff_base_seconds: float = Field(
        30.0, gt=0, description="first retry delay of a failed webhook delivery (doubling each time, full jitter)"
    )
    webhook_backoff_cap_seconds: float = Field(
        3600.0, gt=0, description="longest delay between two attempts of a webhook delivery"
    )
    webhook_batch_size: int = Field(50, ge=1, le=1000, description="deliveries the worker claims per pass")
    webhook_concurrency: int = Field(8, ge=1, le=64, description="deliveries the worker sends at once")
    worker_interval_seconds: float = Field(
        1.0, gt=0, description="pause of kleline worker between passes when there is nothing to do"
    )
    # -- receipts (issue 4) --
    receipt_signing_keys: SecretStr = Field(
        SecretStr(DEVELOPMENT_RECEIPT_SIGNING_KEYS),
        description="receipt signing keys 'id:base64(32-byte Ed25519 seed),...', the active one first, older ones "
        "kept so that their receipts still verify (development key by default, refused in production)",
    )
    # -- banks, settlement, collections, reconciliation (issue 5) --
    bank_timeout_seconds: float = Field(
        5.0, gt=0, le=60, description="how long the connector waits for the card network's answer before reversing"
    )
    bank_pool_size: int = Field(4, ge=1, le=64, description="TCP connections kept open to the card network")
    safeguarding_iban: str = Field(
        DEVELOPMENT_SAFEGUARDING_IBAN,
        description="Kleline's own account at its partner bank: payouts leave it, collections and card "
        "settlements reach it, its statements are reconciled",
    )
    safeguarding_bic: str = Field(
        "",
        validate_default=True,
        description="BIC of the safeguarding bank: derived from KLELINE_SAFEGUARDING_IBAN when unset, refused when "
        "it names another bank than the IBAN's",
    )

    @field_validator("safeguarding_iban")
    @classmethod
    def _a_valid_iban(cls, iban: str) -> str:
        try:
            IBAN(iban)
        except SchwiftyException as error:
            raise ValueError(f"not a valid IBAN ({error})") from None
        return iban

    @field_validator("safeguarding_bic")
    @classmethod
    def _the_iban_s_bank(cls, bic: str, info: ValidationInfo) -> str:
        # The IBAN names the bank; a BIC set beside it may only repeat it, or files and ledger accounts would name
        # another bank (a BNP IBAN under the default SOGEFRPP once did). A primary office's BIC is kept in its
        # 8-character form, so that the ledger's bank:<bic>:... codes do not depend on how it was written.
        iban_text = info.data.get("safeguarding_iban")
        if iban_text is None:
            raise ValueError("cannot be checked: KLELINE_SAFEGUARDING_IBAN is not valid")
        derived = IBAN(iban_text).bic
        if not bic.strip():
            if derived is None:
                raise ValueError(
                    "the bank of KLELINE_SAFEGUARDING_IBAN is not in the registry, so its BIC cannot be derived: set it"
                )
            return _primary_office(derived)
        try:
            given = BIC(bic)
        except SchwiftyException as error:
            raise ValueError(f"not a valid BIC ({error})") from None
        if derived is not None and _primary_office(given) != _primary_office(derived):
            raise ValueError(
                f"{given.compact} is not the bank of KLELINE_SAFEGUARDING_IBAN, whose BIC is {derived.compact}: "
                "correct it, or unset it to have it derived from the IBAN"
            )
        return _primary_office(given)

    safeguarding_name: str = Field("Kleline SAS", description="account holder's name on SEPA files")
    sepa_creditor_id: str = Field(
        DEVELOPMENT_SEPA_CREDITOR_ID, description="SEPA creditor identifier that direct debit collections carry"
    )
    payout_minimum: int = Field(
        1000, ge=1, description="smallest available balance (minor units) a settlement run pays out"
    )
    # -- audiences and offers (issue 15) --
    audience_epsilon_milli: int = Field(
        500,
        ge=10,
        le=10_000,
        description="differential privacy: epsilon of one audience estimate or offer reach, in thousandths "
        "(discrete Laplace noise of scale 1/epsilon; 500 = 0.5)",
    )
    audience_monthly_budget_milli: int = Field(
        10_000,
        ge=10,
        le=1_000_000,
        description="a merchant's privacy budget per month (UTC), in thousandths of epsilon: once spent, estimates "
        "and offers are refused until the next month",
    )
    # -- checkout pages (issue 4) --
    web_session_minutes: int = Field(
        30, ge=1, le=24 * 60, description="lifetime of a checkout page session (sign-in included), in minutes"
    )
    # -- request bounds (issue 10) --
    max_body_bytes: int = Field(
        64 * 1024, ge=1024, description="largest request body of an API call (JSON), in bytes; larger is a 413"
    )
    max_statement_bytes: int = Field(
        16 * 1024 * 1024,
        ge=1024,
        description="largest bank statement import (POST /v1/bank-statements, camt.053 XML), in bytes",
    )
    max_form_bytes: int = Field(16 * 1024, ge=1024, description="largest form posted to a page, in bytes")
    # -- rate limits per client (issue 10) --
    sign_in_rate: int = Field(
        20, ge=1, description="sign-in attempts (API and pages) one client address may make per sign-in window"
    )
    sign_in_rate_window_seconds: int = Field(60, ge=1, description="the window of KLELINE_SIGN_IN_RATE, in seconds")
    sign_up_rate: int = Field(
        10, ge=1, description="wallets (API and pages) one client address may try to open per sign-up window"
    )
    sign_up_rate_window_seconds: int = Field(3600, ge=1, description="the window of KLELINE_SIGN_UP_RATE, in seconds")
    forwarded_allow_ips: str = Field(
        "",
        description="proxies whose X-Forwarded-For names the client (comma-separated addresses or networks, '*' "
        "for any) for kleline serve; empty trusts none, so the client is the connection's address",
    )


def _primary_office(bic: BIC) -> str:
    """A BIC in the form Kleline names a bank by: 8 characters for a primary office (``...XXX``), else 11."""
    return bic.compact[:8] if bic.branch_code in ("", "XXX") else bic.compact


def load_settings(**overrides: object) -> Settings:
    """Read the environment, with explicit overrides (tests and the CLI pass some)."""
    return Settings(**overrides)  # type: ignore[arg-type]

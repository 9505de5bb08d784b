"""Signing and verifying receipts: round trip, every kind of tampering, key rotation, key configuration."""

from __future__ import annotations

import base64
import copy
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from kleline.bootstrap import check_settings
from kleline.config import DEVELOPMENT_RECEIPT_SIGNING_KEYS, load_settings
from kleline.money import Money
from kleline.receipts import (
    BadSignature,
    InvalidPublicKeys,
    InvalidSigningKeyConfig,
    MalformedReceipt,
    PublicKeys,
    SigningKeys,
    UnknownSigningKey,
    canonical_bytes,
    generate_signing_key,
    verify,
)
from kleline.receipts.signing import b64url_decode, b64url_encode
from kleline.wallet.vault import generate_master_key

from .test_model import a_receipt

K1 = generate_signing_key("k1")
K2 = generate_signing_key("k2")


@pytest.fixture
def keys() -> SigningKeys:
    return SigningKeys.parse(K1)


def signed_document(keys: SigningKeys, **changes: Any) -> dict[str, Any]:
    return keys.sign(a_receipt(**changes)).to_json()


def test_a_signed_receipt_verifies_against_the_public_keys(keys: SigningKeys) -> None:
    signed = keys.sign(a_receipt())
    assert signed.signature.key_id == "k1"
    assert signed.signature.algorithm == "Ed25519"
    assert verify(signed.to_json(), keys.public_keys()) == a_receipt()
    assert verify(signed, keys.public_keys()) == a_receipt()


def test_the_signature_is_plain_ed25519_over_the_canonical_bytes(keys: SigningKeys) -> None:
    # What a merchant does with any Ed25519 library, from the published JSON alone.
    document = signed_document(keys)
    published = keys.public_keys().to_json()["data"][0]
    public_key = Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(published["public_key"] + "="))
    signature = base64.urlsafe_b64decode(document["signature"]["value"] + "==")
    public_key.verify(signature, canonical_bytes(document))  # raises if not


def test_the_published_keys_read_back(keys: SigningKeys) -> None:
    published = keys.public_keys().to_json()
    assert published["has_more"] is False
    [entry] = published["data"]
    assert entry.keys() == {"id", "algorithm", "public_key", "active"}
    assert (entry["id"], entry["algorithm"], entry["active"]) == ("k1", "Ed25519", True)
    assert len(entry["public_key"]) == 43 and "=" not in entry["public_key"]
    assert PublicKeys.from_json(published).to_json() == published


def _set(document: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for part in parents:
        document = document[part]
    document[last] = value


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("amount.amount", 125000),
        ("amount.amount", 1249),
        ("commission.amount", 0),
        ("commission.amount", 45),
        ("merchant.id", "mer_2"),
        ("merchant.name", "Chez Emile"),
        ("customer.id", "cus_2"),
        ("issued_at", "2026-01-15T09:30:00.123457Z"),
        ("issued_at", "2025-01-15T09:30:00.123456Z"),
        ("receipt_id", "rcpt_2"),
    ],
)
def test_any_change_to_a_signed_fact_breaks_the_signature(keys: SigningKeys, path: str, value: Any) -> None:
    document = signed_document(keys)
    _set(document, path, value)
    with pytest.raises(BadSignature, match="k1"):
        verify(document, keys.public_keys())


def test_changing_the_currency_or_the_object_breaks_the_signature(keys: SigningKeys) -> None:
    document = signed_document(keys)
    document["amount"]["currency"] = document["commission"]["currency"] = "USD"
    with pytest.raises(BadSignature):
        verify(document, keys.public_keys())
    document = signed_document(keys)
    document["object_id"] = document["payment_id"] = "pay_2"
    with pytest.raises(BadSignature):
        verify(document, keys.public_keys())
    refund = signed_document(keys, kind="refund", object_id="re_1")
    refund["kind"] = "payment"
    refund["object_id"] = refund["payment_id"]
    with pytest.raises(BadSignature):
        verify(refund, keys.public_keys())


def test_an_unknown_key_id_is_named(keys: SigningKeys) -> None:
    document = signed_document(keys)
    document["signature"]["key_id"] = "k9"
    with pytest.raises(UnknownSigningKey, match="'k9'.*k1"):
        verify(document, keys.public_keys())


def test_a_signature_made_by_another_key_under_our_key_id_is_refused(keys: SigningKeys) -> None:
    impostor = SigningKeys.parse(generate_signing_key("k1"))  # same id, another key
    with pytest.raises(BadSignature):
        verify(signed_document(impostor), keys.public_keys())


def test_a_signature_by_one_known_key_labelled_as_another_is_refused() -> None:
    both = SigningKeys.parse(f"{K2},{K1}")
    document = signed_document(both)  # signed by k2
    document["signature"]["key_id"] = "k1"
    with pytest.raises(BadSignature, match="'k1'"):
        verify(document, both.public_keys())


@pytest.mark.parametrize(
    "value",
    [
        "not base64!",
        "",
        "AAAA",  # too short
        "A" * 88,  # too long
        None,
        12,
    ],
)
def test_a_malformed_signature_value_is_refused(keys: SigningKeys, value: Any) -> None:
    document = signed_document(keys)
    document["signature"]["value"] = value
    with pytest.raises(MalformedReceipt, match="signature.value") as caught:
        verify(document, keys.public_keys())
    assert caught.value.param == "signature.value"


def test_a_signature_in_another_base64_spelling_is_refused(keys: SigningKeys) -> None:
    document = signed_document(keys)
    value = document["signature"]["value"]
    raw = base64.urlsafe_b64decode(value + "==")
    for other in (
        value + "==",  # padded
        base64.b64encode(raw).decode().rstrip("="),  # standard alphabet, when it differs
        value[:-1] + chr(ord(value[-1]) + 1),  # unused trailing bits set: same bytes, another spelling
    ):
        if other == value:
            continue
        document["signature"]["value"] = other
        with pytest.raises((MalformedReceipt, BadSignature)):
            verify(document, keys.public_keys())


@pytest.mark.parametrize(
    "signature",
    [
        None,
        "k1",
        {"key_id": "k1", "value": "x"},
        {"key_id": "k1", "algorithm": "Ed25519", "value": "x", "extra": 1},
    ],
)
def test_a_missing_or_malformed_signature_block_is_refused(keys: SigningKeys, signature: Any) -> None:
    document = signed_document(keys)
    if signature is None:
        del document["signature"]
    else:
        document["signature"] = signature
    with pytest.raises(MalformedReceipt, match="signature"):
        verify(document, keys.public_keys())


def test_another_algorithm_is_refused(keys: SigningKeys) -> None:
    document = signed_document(keys)
    document["signature"]["algorithm"] = "HS256"
    with pytest.raises(MalformedReceipt, match="Ed25519"):
        verify(document, keys.public_keys())


def test_a_signed_document_missing_a_field_is_malformed_not_merely_unsigned(keys: SigningKeys) -> None:
    document = signed_document(keys)
    del document["commission"]
    with pytest.raises(MalformedReceipt, match="commission"):
        verify(document, keys.public_keys())
    document = signed_document(keys)
    document["signed_by_bank"] = True
    with pytest.raises(MalformedReceipt, match="unknown field"):
        verify(document, keys.public_keys())


def test_after_a_rotation_old_receipts_verify_with_the_retired_key() -> None:
    before = SigningKeys.parse(K1)
    old = signed_document(before)
    after = SigningKeys.parse(f"{K2},{K1}")
    new = signed_document(after)
    assert (after.active_id, after.key_ids) == ("k2", ("k2", "k1"))
    assert new["signature"]["key_id"] == "k2"
    published = after.public_keys().to_json()
    assert [(k["id"], k["active"]) for k in published["data"]] == [("k2", True), ("k1", False)]
    keys = PublicKeys.from_json(published)  # a saved copy of GET /v1/keys
    assert verify(old, keys) == verify(new, keys) == a_receipt()
    # Once k1 is dropped from the configuration, its receipts no longer verify against it.
    with pytest.raises(UnknownSigningKey):
        verify(old, SigningKeys.parse(K2).public_keys())


def test_signing_is_deterministic_and_keys_are_independent(keys: SigningKeys) -> None:
    assert signed_document(keys) == signed_document(keys)
    other = SigningKeys.parse(K2)
    assert (
        other.public_keys().to_json()["data"][0]["public_key"] != keys.public_keys().to_json()["data"][0]["public_key"]
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no receipt signing key"),
        ("   ", "no receipt signing key"),
        ("bm9faWQ=", "no key id"),
        ("bad id!:" + K1.partition(":")[2], "invalid id"),
        (f"{K1},{K1}", "twice"),
        ("k1:not*base64", "base64"),
        ("k1:" + base64.b64encode(b"x" * 31).decode(), "32 bytes, got 31"),
        (f"{K1},", "no key id"),
    ],
    ids=["empty", "blank", "no id", "bad id", "twice", "not base64", "31 bytes", "trailing comma"],  # K1 is random
)
def test_a_malformed_key_configuration_is_refused(text: str, message: str) -> None:
    with pytest.raises(InvalidSigningKeyConfig, match=message):
        SigningKeys.parse(text)


def test_messages_and_repr_never_show_key_material() -> None:
    seed = K1.partition(":")[2]
    keys = SigningKeys.parse(K1)
    assert seed not in repr(keys)
    with pytest.raises(InvalidSigningKeyConfig) as caught:
        SigningKeys.parse(f"{K1},{K1}")
    assert seed not in str(caught.value)


def test_the_development_key_signs_in_development_and_is_refused_in_production() -> None:
    assert SigningKeys.from_config(DEVELOPMENT_RECEIPT_SIGNING_KEYS, "development").active_id == "dev1"
    with pytest.raises(InvalidSigningKeyConfig, match="production"):
        SigningKeys.from_config(DEVELOPMENT_RECEIPT_SIGNING_KEYS, "production")
    # Even kept as an old key under another id.
    renamed = "old:" + DEVELOPMENT_RECEIPT_SIGNING_KEYS.partition(":")[2]
    with pytest.raises(InvalidSigningKeyConfig, match="production"):
        SigningKeys.from_config(f"{K1},{renamed}", "production")
    assert SigningKeys.from_config(K1, "production").active_id == "k1"


def test_production_settings_with_the_development_receipt_key_are_refused_at_start() -> None:
    production = {
        "env": "production",
        "master_keys": generate_master_key("m1"),
        "fingerprint_key": base64.b64encode(b"f" * 32).decode(),
        "pseudonym_key": base64.b64encode(b"p" * 32).decode(),
        "customer_index_key": base64.b64encode(b"c" * 32).decode(),
    }
    with pytest.raises(InvalidSigningKeyConfig, match="KLELINE_RECEIPT_SIGNING_KEYS: the development"):
        check_settings(load_settings(**production))
    check_settings(load_settings(**production, receipt_signing_keys=K1))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"keys": []}, "expected"),
        ({"data": [{"id": "k1"}]}, "lacks"),
        ({"data": [{"id": "k1", "algorithm": "RS256", "public_key": "x"}]}, "Ed25519"),
        ({"data": [{"id": "k1", "algorithm": "Ed25519", "public_key": "abc"}]}, "32 bytes"),
        ({"data": [{"id": "k 1", "algorithm": "Ed25519", "public_key": "abc"}]}, "invalid id"),
        ({"data": [{"id": "k1", "algorithm": "Ed25519", "public_key": "A" * 43, "active": "yes"}]}, "active"),
    ],
)
def test_a_malformed_list_of_public_keys_is_refused(data: Any, message: str) -> None:
    with pytest.raises(InvalidPublicKeys, match=message):
        PublicKeys.from_json(data)


def test_a_list_of_public_keys_naming_one_key_twice_is_refused(keys: SigningKeys) -> None:
    entry = keys.public_keys().to_json()["data"][0]
    with pytest.raises(InvalidPublicKeys, match="twice"):
        PublicKeys.from_json([entry, copy.deepcopy(entry)])


def test_base64url_has_one_spelling() -> None:
    raw = bytes(range(32))
    text = b64url_encode(raw)
    assert b64url_decode(text, 32, "x") == raw
    for bad in (text + "=", text.replace("_", "/"), text[:-1] + "B", text[:-1]):
        if bad != text:
            with pytest.raises(ValueError):
                b64url_decode(bad, 32, "x")


def test_the_commission_is_carried_as_signed(keys: SigningKeys) -> None:
    receipt = verify(signed_document(keys, commission=Money(0, "EUR")), keys.public_keys())
    assert receipt.commission == Money(0, "EUR")

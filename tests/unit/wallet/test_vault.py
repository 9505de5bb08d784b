import base64
import dataclasses
import secrets
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum import luhn

from kleline.errors import KlelineError
from kleline.wallet.cards import CardNumber, parse_card_number
from kleline.wallet.vault import (
    DEVELOPMENT_FINGERPRINT_KEY,
    DEVELOPMENT_MASTER_KEYS,
    InvalidKeyConfig,
    MasterKeys,
    SealedCard,
    UnknownKeyId,
    VaultError,
    fingerprint,
    fingerprint_key_from_config,
    generate_master_key,
    open_sealed,
    rewrap,
    seal,
)

VISA = "4242424242424242"
K1 = generate_master_key("k1")
K2 = generate_master_key("k2")
FINGERPRINT_KEY = secrets.token_bytes(32)


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def flip_first_bit(value: bytes) -> bytes:
    return bytes([value[0] ^ 1]) + value[1:]


def with_field(sealed: SealedCard, field: str, value: bytes) -> SealedCard:
    changes: dict[str, Any] = {field: value}
    return dataclasses.replace(sealed, **changes)


@pytest.fixture
def card() -> CardNumber:
    return parse_card_number(VISA)


@pytest.fixture
def keys() -> MasterKeys:
    return MasterKeys.parse(K1)


def test_a_sealed_card_opens_to_the_same_number(card: CardNumber, keys: MasterKeys) -> None:
    sealed = seal(card, keys)
    assert open_sealed(sealed, keys) == card
    assert sealed.key_id == "k1"
    assert (len(sealed.wrapped_key), len(sealed.nonce), len(sealed.ciphertext)) == (40, 12, 16 + 16)


def test_nothing_in_a_sealed_card_is_in_clear(card: CardNumber, keys: MasterKeys) -> None:
    sealed = seal(card, keys)
    for value in (sealed.wrapped_key, sealed.nonce, sealed.ciphertext):
        assert VISA.encode() not in value
        assert card.last4.encode() not in value
    assert VISA not in repr(sealed)


def test_two_seals_of_one_number_differ_but_share_a_fingerprint(card: CardNumber, keys: MasterKeys) -> None:
    first, second = seal(card, keys), seal(card, keys)
    assert first.wrapped_key != second.wrapped_key
    assert first.nonce != second.nonce
    assert first.ciphertext != second.ciphertext
    again = parse_card_number("4242 4242 4242 4242")
    assert fingerprint(card, FINGERPRINT_KEY) == fingerprint(again, FINGERPRINT_KEY)


def test_a_fingerprint_is_hex_sha256_and_depends_on_the_key_and_the_number(card: CardNumber) -> None:
    print_ = fingerprint(card, FINGERPRINT_KEY)
    assert len(print_) == 64 and int(print_, 16) >= 0
    assert VISA not in print_
    assert fingerprint(card, secrets.token_bytes(32)) != print_
    assert fingerprint(parse_card_number("5555555555554444"), FINGERPRINT_KEY) != print_


def test_a_short_fingerprint_key_is_refused(card: CardNumber) -> None:
    with pytest.raises(InvalidKeyConfig, match="at least 32 bytes"):
        fingerprint(card, b"short")


@pytest.mark.parametrize("field", ["wrapped_key", "nonce", "ciphertext"])
def test_altering_any_byte_field_fails_to_open(card: CardNumber, keys: MasterKeys, field: str) -> None:
    sealed = seal(card, keys)
    altered = with_field(sealed, field, flip_first_bit(getattr(sealed, field)))
    with pytest.raises(VaultError) as caught:
        open_sealed(altered, keys)
    assert caught.value.code == "vault_error"
    assert VISA not in str(caught.value)


@pytest.mark.parametrize("field", ["wrapped_key", "nonce", "ciphertext"])
def test_truncating_any_byte_field_fails_to_open(card: CardNumber, keys: MasterKeys, field: str) -> None:
    sealed = seal(card, keys)
    with pytest.raises(VaultError):
        open_sealed(with_field(sealed, field, getattr(sealed, field)[:-1]), keys)
    with pytest.raises(VaultError):
        open_sealed(with_field(sealed, field, b""), keys)


def test_a_key_id_pointing_at_another_key_fails_to_open(card: CardNumber) -> None:
    both = MasterKeys.parse(f"{K1},{K2}")
    with pytest.raises(VaultError, match="does not unwrap"):
        open_sealed(dataclasses.replace(seal(card, both), key_id="k2"), both)


def test_a_key_id_that_is_not_configured_fails_to_open(card: CardNumber, keys: MasterKeys) -> None:
    with pytest.raises(UnknownKeyId, match="'k9' is not configured") as caught:
        open_sealed(dataclasses.replace(seal(card, keys), key_id="k9"), keys)
    assert caught.value.code == "unknown_key_id"
    assert isinstance(caught.value, VaultError)


def test_a_card_sealed_under_k1_opens_after_rotation_only_while_k1_is_configured(card: CardNumber) -> None:
    sealed = seal(card, MasterKeys.parse(K1))
    assert open_sealed(sealed, MasterKeys.parse(f"{K2},{K1}")) == card
    with pytest.raises(UnknownKeyId):
        open_sealed(sealed, MasterKeys.parse(K2))


def test_rewrap_moves_a_record_to_the_active_key_without_touching_its_ciphertext(card: CardNumber) -> None:
    sealed = seal(card, MasterKeys.parse(K1))
    rotating = MasterKeys.parse(f"{K2},{K1}")
    moved = rewrap(sealed, rotating)
    assert moved.key_id == "k2"
    assert (moved.nonce, moved.ciphertext) == (sealed.nonce, sealed.ciphertext)
    assert moved.wrapped_key != sealed.wrapped_key
    assert open_sealed(moved, MasterKeys.parse(K2)) == card


def test_rewrap_is_idempotent_under_the_active_key(card: CardNumber) -> None:
    rotating = MasterKeys.parse(f"{K2},{K1}")
    moved = rewrap(seal(card, MasterKeys.parse(K1)), rotating)
    assert rewrap(moved, rotating) == moved
    fresh = seal(card, rotating)
    assert rewrap(fresh, rotating) is fresh


def test_rewrap_refuses_an_altered_wrapped_key(card: CardNumber) -> None:
    sealed = seal(card, MasterKeys.parse(K1))
    altered = dataclasses.replace(sealed, wrapped_key=flip_first_bit(sealed.wrapped_key))
    with pytest.raises(VaultError):
        rewrap(altered, MasterKeys.parse(f"{K2},{K1}"))


def test_the_first_configured_key_is_active_and_ids_keep_their_order() -> None:
    keys = MasterKeys.parse(f" {K2} , {K1} ")
    assert keys.active_id == "k2"
    assert keys.key_ids == ("k2", "k1")


def test_master_keys_never_show_key_material() -> None:
    keys = MasterKeys.parse(K1)
    encoded = K1.partition(":")[2]
    assert encoded not in repr(keys) and encoded not in str(keys)
    assert repr(keys) == "MasterKeys(active_id='k1', key_ids=('k1',))"


def test_development_keys_work_in_development_and_are_refused_in_production(card: CardNumber) -> None:
    keys = MasterKeys.from_config(DEVELOPMENT_MASTER_KEYS, "development")
    assert open_sealed(seal(card, keys), keys) == card
    with pytest.raises(InvalidKeyConfig, match="development master key is refused when env is 'production'"):
        MasterKeys.from_config(DEVELOPMENT_MASTER_KEYS, "production")


def test_a_development_key_is_refused_in_production_under_any_id_or_position() -> None:
    development = DEVELOPMENT_MASTER_KEYS.partition(":")[2]
    with pytest.raises(InvalidKeyConfig, match="development"):
        MasterKeys.from_config(f"{K1},old:{development}", "production")
    assert MasterKeys.from_config(f"{K2},{K1}", "production").active_id == "k2"


def test_the_development_fingerprint_key_is_refused_in_production() -> None:
    assert len(fingerprint_key_from_config(DEVELOPMENT_FINGERPRINT_KEY, "development")) == 32
    with pytest.raises(InvalidKeyConfig, match="development fingerprint key is refused"):
        fingerprint_key_from_config(DEVELOPMENT_FINGERPRINT_KEY, "production")
    own = secrets.token_bytes(48)
    assert fingerprint_key_from_config(b64(own), "production") == own


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no fingerprint key configured"),
        ("not base64!", "fingerprint key is not valid standard base64"),
        (b64(bytes(16)), "at least 32 bytes, got 16"),
    ],
)
def test_a_malformed_fingerprint_key_is_refused(text: str, message: str) -> None:
    with pytest.raises(InvalidKeyConfig, match=message):
        fingerprint_key_from_config(text, "production")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no master key configured: expected 'id:base64key"),
        ("   ", "no master key configured"),
        (b64(bytes(32)), "entry 1 has no key id"),
        # Fixed keys rather than K1 and K2, which are random: a test's id must be the same in every pytest-xdist worker.
        (f"k1:{b64(bytes(range(32)))},", "entry 2 is empty"),
        (f"k1:{b64(bytes(range(32)))},,k2:{b64(bytes(range(1, 33)))}", "entry 2 is empty"),
        (f"-bad:{b64(bytes(32))}", "entry 1 has an invalid id: 1-32 letters"),
        (f":{b64(bytes(32))}", "entry 1 has an invalid id"),
        (f"{'k' * 33}:{b64(bytes(32))}", "entry 1 has an invalid id"),
        (f"k1:{b64(bytes(32))},k1:{b64(bytes(32))}", "master key id 'k1' appears twice"),
        ("k1:not*base64", "master key 'k1' is not valid standard base64"),
        ("k1:YWJj", "master key 'k1' must decode to 32 bytes, got 3"),
        (f"k1:{b64(bytes(32))[:-1]}", "master key 'k1' is not valid standard base64"),
        (f"k1:{b64(bytes(64))}", "master key 'k1' must decode to 32 bytes, got 64"),
        ("k1:été", "master key 'k1' is not valid standard base64"),
    ],
)
def test_a_malformed_key_configuration_is_refused_precisely(text: str, message: str) -> None:
    with pytest.raises(InvalidKeyConfig, match=message) as caught:
        MasterKeys.from_config(text, "production")
    assert caught.value.code == "invalid_key_config"
    assert isinstance(caught.value, KlelineError)


def test_a_malformed_key_is_never_echoed_in_the_error() -> None:
    secret = b64(secrets.token_bytes(31))
    with pytest.raises(InvalidKeyConfig) as caught:
        MasterKeys.parse(f"k1:{secret}")
    assert secret not in str(caught.value)
    with pytest.raises(InvalidKeyConfig) as caught:
        MasterKeys.parse(secret)
    assert secret not in str(caught.value)


def test_master_keys_built_directly_are_checked() -> None:
    with pytest.raises(InvalidKeyConfig, match="must be 32 bytes, got 16"):
        MasterKeys({"k1": bytes(16)}, active_id="k1")
    with pytest.raises(InvalidKeyConfig, match="'k2' is not among the configured keys"):
        MasterKeys({"k1": bytes(32)}, active_id="k2")
    with pytest.raises(InvalidKeyConfig, match="id has 1-32 letters"):
        generate_master_key("k 1")


def test_a_generated_master_key_is_a_fresh_configuration_entry() -> None:
    assert K1 != generate_master_key("k1")
    assert MasterKeys.parse(K1).key("k1") == base64.b64decode(K1.partition(":")[2])


def test_sealed_card_fields_are_the_stored_columns() -> None:
    assert [field.name for field in dataclasses.fields(SealedCard)] == ["key_id", "wrapped_key", "nonce", "ciphertext"]


BRAND_PREFIXES = [("4", 16), ("4", 13), ("4", 19), ("51", 16), ("2720", 16), ("37", 15), ("6011", 19), ("3528", 16)]


@st.composite
def valid_card_numbers(draw: st.DrawFn) -> str:
    prefix, length = draw(st.sampled_from(BRAND_PREFIXES))
    body = prefix + draw(st.text("0123456789", min_size=length - len(prefix) - 1, max_size=length - len(prefix) - 1))
    return body + luhn.calc_check_digit(body)


@settings(max_examples=200)
@given(digits=valid_card_numbers())
def test_any_valid_number_survives_seal_open_and_rewrap(digits: str) -> None:
    card = parse_card_number(digits)
    old, rotating = MasterKeys.parse(K1), MasterKeys.parse(f"{K2},{K1}")
    sealed = seal(card, old)
    assert open_sealed(sealed, old).digits == digits
    assert open_sealed(rewrap(sealed, rotating), MasterKeys.parse(K2)) == card

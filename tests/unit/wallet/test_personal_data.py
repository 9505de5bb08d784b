"""Customers' personal data sealed under their own key: it opens for its customer and field only, the blind index
is stable and keyed, and the search tokens cover every prefix up to 32 characters."""

from __future__ import annotations

import pytest

from kleline.wallet.personal_data import (
    SEARCH_TOKEN_PREFIX,
    development_keys,
    email_index,
    index_key_from_config,
    new_customer_key,
    open_field,
    seal_field,
    search_token,
    search_tokens,
    unwrap_customer_key,
)
from kleline.wallet.vault import InvalidKeyConfig, MasterKeys, VaultError, generate_master_key

KEYS = development_keys()


def test_a_sealed_field_opens_under_its_customer_s_key_only() -> None:
    key = new_customer_key(KEYS)
    sealed = seal_field(key.key, "cus_1", "email", "ada@example.org")
    assert b"ada" not in sealed
    assert unwrap_customer_key(key.key_id, key.wrapped_key, KEYS.master_keys) == key.key
    assert open_field(key.key, "cus_1", "email", sealed) == "ada@example.org"
    for customer_id, field in (("cus_2", "email"), ("cus_1", "name")):
        with pytest.raises(VaultError):
            open_field(key.key, customer_id, field, sealed)
    with pytest.raises(VaultError):
        open_field(new_customer_key(KEYS).key, "cus_1", "email", sealed)
    # The same value sealed twice differs (a fresh nonce): ciphertexts say nothing of equal emails.
    assert seal_field(key.key, "cus_1", "email", "ada@example.org") != sealed


def test_a_key_wrapped_under_another_master_key_does_not_unwrap() -> None:
    key = new_customer_key(KEYS)
    other = type(KEYS)(MasterKeys.parse(generate_master_key(key.key_id)), KEYS.index_key)
    with pytest.raises(VaultError):
        unwrap_customer_key(key.key_id, key.wrapped_key, other.master_keys)


def test_the_blind_index_is_stable_and_keyed() -> None:
    assert email_index("ada@example.org", KEYS.index_key) == email_index("ada@example.org", KEYS.index_key)
    assert email_index("ada@example.org", KEYS.index_key) != email_index("ada@example.org", b"k" * 32)
    assert email_index("ada@example.org", KEYS.index_key) != email_index("bob@example.org", KEYS.index_key)


def test_search_tokens_cover_each_prefix_of_the_email_and_of_the_name() -> None:
    tokens = search_tokens("ada@example.org", "Ada Lovelace", KEYS.index_key)
    assert search_token("email", "ada@", KEYS.index_key) in tokens
    assert search_token("name", "ada l", KEYS.index_key) in tokens
    assert search_token("name", "lovelace", KEYS.index_key) not in tokens  # the beginning only
    long_name = "x" * 100
    assert len(search_tokens("a@b.c", long_name, KEYS.index_key)) == 5 + SEARCH_TOKEN_PREFIX
    assert search_token("name", long_name, KEYS.index_key) == search_token("name", "x" * 40, KEYS.index_key)


def test_the_development_index_key_is_refused_outside_development() -> None:
    from kleline.config import DEVELOPMENT_CUSTOMER_INDEX_KEY

    with pytest.raises(InvalidKeyConfig, match="refused when env is 'production'"):
        index_key_from_config(DEVELOPMENT_CUSTOMER_INDEX_KEY, "production")
    with pytest.raises(InvalidKeyConfig, match="at least 32 bytes"):
        index_key_from_config("dG9vIHNob3J0", "development")

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kleline.bootstrap.settings import check_settings
from kleline.config import DEVELOPMENT_PSEUDONYM_KEY, load_settings
from kleline.privacy.pseudonyms import PSEUDONYM, Pseudonyms
from kleline.wallet.vault import InvalidKeyConfig, generate_master_key

KEY = Pseudonyms(b"k" * 32)
ids = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=32)


@given(merchant=ids, customer=ids)
def test_a_pseudonym_is_stable_for_one_merchant_and_has_its_shape(merchant: str, customer: str) -> None:
    first = KEY.of(f"mer_{merchant}", f"cus_{customer}")
    assert first == KEY.of(f"mer_{merchant}", f"cus_{customer}")
    assert PSEUDONYM.match(first)


@given(a=ids, b=ids, customer=ids)
def test_two_merchants_see_one_customer_under_different_pseudonyms(a: str, b: str, customer: str) -> None:
    if a != b:
        assert KEY.of(f"mer_{a}", f"cus_{customer}") != KEY.of(f"mer_{b}", f"cus_{customer}")


def test_another_key_gives_other_pseudonyms() -> None:
    assert KEY.of("mer_1", "cus_1") != Pseudonyms(b"j" * 32).of("mer_1", "cus_1")


def test_the_development_key_is_refused_outside_development() -> None:
    assert Pseudonyms.from_config(DEVELOPMENT_PSEUDONYM_KEY, "development").of("mer_1", "cus_1").startswith("cpn_")
    with pytest.raises(InvalidKeyConfig, match="development pseudonym key is refused"):
        Pseudonyms.from_config(DEVELOPMENT_PSEUDONYM_KEY, "production")
    with pytest.raises(InvalidKeyConfig, match="at least 32 bytes"):
        Pseudonyms.from_config(base64.b64encode(b"short").decode(), "production")
    with pytest.raises(InvalidKeyConfig, match="base64"):
        Pseudonyms.from_config("not base64!", "production")


def test_production_settings_refuse_the_development_pseudonym_key_at_start() -> None:
    production = {
        "env": "production",
        "master_keys": generate_master_key("m1"),
        "fingerprint_key": base64.b64encode(b"f" * 32).decode(),
        "receipt_signing_keys": "r1:" + base64.b64encode(b"r" * 32).decode(),
        "customer_index_key": base64.b64encode(b"c" * 32).decode(),
    }
    with pytest.raises(InvalidKeyConfig, match="KLELINE_PSEUDONYM_KEY: the development pseudonym key"):
        check_settings(load_settings(**production))
    check_settings(load_settings(**production, pseudonym_key=base64.b64encode(b"p" * 32).decode()))


def test_the_key_never_shows_in_its_repr() -> None:
    assert "kkkk" not in repr(KEY)

"""The verification helper merchants use: what it accepts, and every way it refuses an untrustworthy webhook."""

from __future__ import annotations

import ast
import hashlib
import hmac
import inspect
import sys

import pytest

from kleline.events import signature
from kleline.events.signature import (
    MalformedSignature,
    SignatureError,
    SignatureMismatch,
    StaleSignature,
    sign,
    verify,
)

SECRET = "whsec_" + "ab" * 32
BODY = b'{"id":"evt_1","type":"payment.succeeded","created_at":"2026-01-15T09:30:00.000000Z","data":{"amount":1250}}'
T = 1_768_469_400


def test_the_header_is_api_md_format_hmac_sha256_of_timestamp_dot_body() -> None:
    expected = hmac.new(SECRET.encode(), f"{T}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, BODY, T) == f"t={T},v1={expected}"


def test_a_genuine_signature_verifies_and_returns_its_timestamp() -> None:
    assert verify(SECRET, sign(SECRET, BODY, T), BODY, now=T + 10) == T


def test_a_tampered_body_is_rejected() -> None:
    header = sign(SECRET, BODY, T)
    with pytest.raises(SignatureMismatch):
        verify(SECRET, header, BODY.replace(b"1250", b"9250"), now=T)


def test_a_wrong_secret_is_rejected() -> None:
    header = sign("whsec_" + "cd" * 32, BODY, T)
    with pytest.raises(SignatureMismatch):
        verify(SECRET, header, BODY, now=T)


@pytest.mark.parametrize("offset", [301, -301, 86_400])
def test_a_timestamp_outside_the_tolerance_is_rejected_either_way(offset: int) -> None:
    with pytest.raises(StaleSignature):
        verify(SECRET, sign(SECRET, BODY, T), BODY, now=T + offset)


def test_the_tolerance_is_the_callers_choice() -> None:
    assert verify(SECRET, sign(SECRET, BODY, T), BODY, now=T + 900, tolerance=1000) == T
    with pytest.raises(StaleSignature):
        verify(SECRET, sign(SECRET, BODY, T), BODY, now=T + 30, tolerance=10)


def test_a_replayed_signature_with_a_new_timestamp_is_rejected() -> None:
    mac = sign(SECRET, BODY, T).split(",v1=")[1]
    with pytest.raises(SignatureMismatch):
        verify(SECRET, f"t={T + 100},v1={mac}", BODY, now=T + 100)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "garbage",
        f"v1={'0' * 64}",  # no timestamp
        f"t={T}",  # no signature
        f"t=soon,v1={'0' * 64}",
        f"t=-{T},v1={'0' * 64}",
        f"t={T},t={T},v1={'0' * 64}",
        f"t=١٢٣,v1={'0' * 64}",  # non-ASCII digits
    ],
)
def test_a_malformed_header_is_rejected(header: str | None) -> None:
    with pytest.raises(MalformedSignature):
        verify(SECRET, header, BODY, now=T)


def test_every_refusal_is_a_signature_error_and_a_value_error() -> None:
    for error in (MalformedSignature, StaleSignature, SignatureMismatch):
        assert issubclass(error, SignatureError)
        assert issubclass(error, ValueError)


def test_one_matching_v1_among_several_is_enough_for_secret_rotation() -> None:
    old = sign("whsec_old", BODY, T).split(",v1=")[1]
    new = sign(SECRET, BODY, T).split(",v1=")[1]
    assert verify(SECRET, f"t={T},v1={old},v1={new}", BODY, now=T) == T
    assert verify("whsec_old", f"t={T},v1={old},v1={new}", BODY, now=T) == T


def test_a_merchant_rotating_its_own_secret_may_pass_both() -> None:
    assert verify(["whsec_new", SECRET], sign(SECRET, BODY, T), BODY, now=T) == T
    with pytest.raises(SignatureMismatch):
        verify(["whsec_new", "whsec_other"], sign(SECRET, BODY, T), BODY, now=T)


def test_unknown_schemes_are_ignored_so_that_a_v2_can_be_added_later() -> None:
    header = sign(SECRET, BODY, T) + ",v2=whatever"
    assert verify(SECRET, header, BODY, now=T) == T


def test_an_empty_secret_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        sign("", BODY, T)
    with pytest.raises(ValueError):
        verify("", sign(SECRET, BODY, T), BODY, now=T)


def test_the_system_clock_is_used_when_now_is_not_given() -> None:
    import time

    now = int(time.time())
    assert verify(SECRET, sign(SECRET, BODY, now), BODY) == now
    with pytest.raises(StaleSignature):
        verify(SECRET, sign(SECRET, BODY, now - 3600), BODY)


def test_the_helper_uses_the_standard_library_only_so_that_merchants_can_copy_it() -> None:
    tree = ast.parse(inspect.getsource(signature))
    modules = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    modules |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert modules, "the parse found no import at all"
    for module in modules:
        assert module.split(".")[0] in sys.stdlib_module_names | {"__future__"}, module

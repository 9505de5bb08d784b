"""The rules of an Idempotency-Key: valid keys, the caller's scope, what makes two requests the same."""

from __future__ import annotations

import json

import pytest

from kleline.idempotency.model import (
    ANONYMOUS,
    InvalidIdempotencyKey,
    check_key,
    is_kept,
    principal,
    request_fingerprint,
)


@pytest.mark.parametrize("key", ["a", "x" * 255, "550e8400-e29b-41d4-a716-446655440000", "order 42/retry ~!"])
def test_printable_ascii_keys_of_1_to_255_characters_are_accepted(key: str) -> None:
    assert check_key(key) == key


@pytest.mark.parametrize("key", ["", "x" * 256, "café", "tab\there", "new\nline", "\x7f"])
def test_empty_long_or_unprintable_keys_are_refused_naming_the_header(key: str) -> None:
    with pytest.raises(InvalidIdempotencyKey) as refused:
        check_key(key)
    assert refused.value.code == "validation_error"
    assert refused.value.param == "Idempotency-Key"


def test_the_scope_is_the_bearer_token_and_anonymous_without_one() -> None:
    assert principal(None) == principal("") == ANONYMOUS
    assert principal("Bearer sk_one") == principal("bearer  sk_one ") == b"bearer:sk_one"
    assert principal("Bearer sk_one") != principal("Bearer sk_two")
    # Anything else is its own scope, never anonymous and never a bearer's.
    assert principal("Basic dXNlcjpwYXNz") not in (ANONYMOUS, principal("Bearer dXNlcjpwYXNz"))


def test_json_bodies_are_the_same_request_whatever_their_key_order_and_spacing() -> None:
    first = json.dumps({"amount": 2500, "currency": "EUR", "card_id": "card_1"}).encode()
    second = b'{ "card_id":"card_1",\n  "currency" : "EUR", "amount":2500 }'
    assert request_fingerprint("POST", "/v1/wallet/top-ups", "", first) == request_fingerprint(
        "POST", "/v1/wallet/top-ups", "", second
    )


@pytest.mark.parametrize(
    ("method", "path", "query", "body"),
    [
        ("PUT", "/v1/wallet/top-ups", "", b'{"amount":2500}'),
        ("POST", "/v1/customers", "", b'{"amount":2500}'),
        ("POST", "/v1/wallet/top-ups", "expand=card", b'{"amount":2500}'),
        ("POST", "/v1/wallet/top-ups", "", b'{"amount":2501}'),
        ("POST", "/v1/wallet/top-ups", "", b'{"amount":2500.0}'),
        ("POST", "/v1/wallet/top-ups", "", b'{"amount":2500,"extra":null}'),
    ],
)
def test_another_method_path_query_or_body_is_another_request(method: str, path: str, query: str, body: bytes) -> None:
    reference = request_fingerprint("POST", "/v1/wallet/top-ups", "", b'{"amount":2500}')
    assert request_fingerprint(method, path, query, body) != reference


def test_non_json_bodies_are_compared_byte_for_byte() -> None:
    statement = b"<Document><BkToCstmrStmt/></Document>"
    assert request_fingerprint("POST", "/v1/x", "", statement) == request_fingerprint("POST", "/v1/x", "", statement)
    assert request_fingerprint("POST", "/v1/x", "", statement) != request_fingerprint(
        "POST", "/v1/x", "", statement + b"\n"
    )
    # A body that is not JSON never collides with the JSON text it resembles.
    assert request_fingerprint("POST", "/v1/x", "", b"{broken") != request_fingerprint(
        "POST", "/v1/x", "", b'"{broken"'
    )


def test_the_parts_of_a_request_cannot_be_shifted_into_one_another() -> None:
    assert request_fingerprint("POST", "/v1/a", "b=1", b"") != request_fingerprint("POST", "/v1/ab=1", "", b"")


@pytest.mark.parametrize(
    ("status", "kept"),
    [
        (200, True),
        (201, True),
        (204, True),
        (400, True),
        (402, True),
        (404, True),
        (409, True),
        (422, True),
        (401, False),
        (403, False),
        (408, False),
        (429, False),
        (500, False),
        (503, False),
    ],
)
def test_answers_are_kept_except_server_errors_and_transient_refusals(status: int, kept: bool) -> None:
    assert is_kept(status) is kept

"""Stored answers are sealed under keys derived from the caller's bearer and the key string, neither stored."""

from __future__ import annotations

import pytest
from cryptography.exceptions import InvalidTag

from kleline.idempotency.model import StoredResponse
from kleline.idempotency.sealing import open_response, record_keys, seal_response

SERVER_KEY = b"s" * 32
ANSWER = StoredResponse(201, (("content-type", "application/json"), ("location", "/v1/x/1")), b'{"token":"ct_secret"}')


def test_a_sealed_answer_opens_to_the_same_answer_and_does_not_show_it() -> None:
    keys = record_keys(SERVER_KEY, b"bearer:sk_one", "key-1")
    sealed = seal_response(keys, ANSWER)
    assert b"ct_secret" not in sealed and b"location" not in sealed
    assert open_response(keys, 201, sealed) == ANSWER


def test_the_record_belongs_to_one_caller_one_key_and_one_server_key() -> None:
    ids = {
        record_keys(SERVER_KEY, b"bearer:sk_one", "key-1").id,
        record_keys(SERVER_KEY, b"bearer:sk_two", "key-1").id,
        record_keys(SERVER_KEY, b"bearer:sk_one", "key-2").id,
        record_keys(b"t" * 32, b"bearer:sk_one", "key-1").id,
        # The principal and the key are length-prefixed: they cannot be re-cut into another pair.
        record_keys(SERVER_KEY, b"bearer:sk_one", "key-1").id,
        record_keys(SERVER_KEY, b"bearer:sk_onek", "ey-1").id,
    }
    assert len(ids) == 5
    assert record_keys(SERVER_KEY, b"bearer:sk_one", "key-1").request_mac(b"f" * 32) != record_keys(
        SERVER_KEY, b"bearer:sk_two", "key-1"
    ).request_mac(b"f" * 32)


def test_another_caller_cannot_open_an_answer() -> None:
    sealed = seal_response(record_keys(SERVER_KEY, b"bearer:sk_one", "key-1"), ANSWER)
    with pytest.raises(InvalidTag):
        open_response(record_keys(SERVER_KEY, b"bearer:sk_two", "key-1"), 201, sealed)


def test_an_altered_status_or_answer_is_detected() -> None:
    keys = record_keys(SERVER_KEY, b"anonymous", "key-1")
    sealed = seal_response(keys, ANSWER)
    with pytest.raises(InvalidTag):
        open_response(keys, 200, sealed)
    with pytest.raises(InvalidTag):
        open_response(keys, 201, sealed[:-1] + bytes([sealed[-1] ^ 1]))


def test_an_empty_body_and_no_headers_survive_the_round_trip() -> None:
    keys = record_keys(SERVER_KEY, b"anonymous", "k")
    empty = StoredResponse(204, (), b"")
    assert open_response(keys, 204, seal_response(keys, empty)) == empty


def test_a_binary_body_with_nul_bytes_survives_the_round_trip() -> None:
    keys = record_keys(SERVER_KEY, b"anonymous", "k")
    binary = StoredResponse(200, (("content-type", "application/octet-stream"),), b"\0\x01\0[]\0")
    assert open_response(keys, 200, seal_response(keys, binary)) == binary

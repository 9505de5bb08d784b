"""The synchroniser token and the origin check that guard every form post."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from starlette.requests import Request

from kleline.web import csrf
from kleline.web.sessions import WebSession

PUBLIC = "https://pay.kleline.example"
SESSION = WebSession("cookie-token", None, "form-token", datetime(2026, 1, 1, tzinfo=UTC))


def request(origin: str | None = None, host: str = "pay.kleline.example", scheme: str = "https") -> Request:
    headers = [(b"host", host.encode())]
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    scope = {"type": "http", "method": "POST", "scheme": scheme, "path": "/sign-in", "headers": headers}
    return Request(scope)


def test_a_post_with_its_sessions_token_is_accepted() -> None:
    csrf.check(request(), SESSION, "form-token", PUBLIC)
    csrf.check(request(origin=PUBLIC), SESSION, "form-token", PUBLIC)


@pytest.mark.parametrize("submitted", [None, "", "form-tokeN", "form-token ", "another"])
def test_a_post_without_the_right_token_is_refused(submitted: str | None) -> None:
    with pytest.raises(csrf.CsrfRejected, match="token"):
        csrf.check(request(), SESSION, submitted, PUBLIC)


def test_a_post_without_a_session_is_refused_as_expired() -> None:
    with pytest.raises(csrf.CsrfRejected, match="expired"):
        csrf.check(request(), None, "form-token", PUBLIC)


@pytest.mark.parametrize(
    "origin",
    ["https://evil.example", "null", "http://pay.kleline.example", "https://pay.kleline.example:8443", "https://x:y"],
)
def test_a_post_from_another_origin_is_refused_even_with_the_token(origin: str) -> None:
    with pytest.raises(csrf.CsrfRejected, match="another site"):
        csrf.check(request(origin=origin), SESSION, "form-token", PUBLIC)


def test_the_origin_the_request_was_made_to_is_accepted_too() -> None:
    local = request(origin="http://127.0.0.1:8000", host="127.0.0.1:8000", scheme="http")
    csrf.check(local, SESSION, "form-token", PUBLIC)


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://Pay.Example/checkout?x=1", "https://pay.example"),
        ("https://pay.example:443/", "https://pay.example"),
        ("http://pay.example:80", "http://pay.example"),
        ("http://127.0.0.1:8000/a", "http://127.0.0.1:8000"),
        ("http://[::1]:9000/", "http://[::1]:9000"),
    ],
)
def test_origins_are_compared_in_their_canonical_form(url: str, origin: str) -> None:
    assert csrf.origin_of(url) == origin

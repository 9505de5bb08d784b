"""A caller cannot tell an unknown email from a wrong password or a locked account: the API and the pages answer
all three with the same bytes (the page echoes the address typed, and nothing else differs)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient

from kleline.api.app import create_app
from kleline.bootstrap import Kleline
from kleline.wallet.customers import AuthenticationFailed

PASSWORD = "correct horse battery staple"
ADA = "ada@example.org"
NOBODY = "nobody@example.org"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_VARYING_HEADERS = {"date", "content-length"}  # content-length follows the echoed address, checked with the body


@pytest.fixture
def app(kleline: Kleline) -> Iterator[TestClient]:
    kleline.customers.sign_up(ADA, PASSWORD, "Ada Lovelace")
    with TestClient(create_app(kleline), follow_redirects=False) as client:
        yield client


def lock_ada_out(kleline: Kleline) -> None:
    for i in range(10):
        with pytest.raises(AuthenticationFailed):
            kleline.customers.check_password(ADA, f"wrong guess {i:02d}")


def api_answer(app: TestClient, email: str, password: str) -> tuple[int, dict[str, str], bytes]:
    response = app.post("/v1/auth/token", json={"email": email, "password": password})
    return response.status_code, headers_of(response), response.content


def page_answer(app: TestClient, email: str, password: str) -> tuple[int, dict[str, str], bytes]:
    form = app.get("/sign-in?next=/sign-in")
    found = _CSRF.search(form.text)
    assert found
    response = app.post("/sign-in", data={"csrf_token": found.group(1), "email": email, "password": password})
    return response.status_code, headers_of(response), response.content.replace(email.encode(), b"EMAIL")


def headers_of(response: httpx.Response) -> dict[str, str]:
    return {name: value for name, value in response.headers.items() if name not in _VARYING_HEADERS}


def test_the_api_answers_an_unknown_email_a_wrong_password_and_a_locked_account_alike(
    kleline: Kleline, app: TestClient
) -> None:
    unknown = api_answer(app, NOBODY, PASSWORD)
    malformed = api_answer(app, "not an address", PASSWORD)
    wrong = api_answer(app, ADA, "not the password")
    lock_ada_out(kleline)
    locked = api_answer(app, ADA, PASSWORD)
    assert unknown[0] == 401 and b'"code":"invalid_credentials"' in unknown[2]
    assert unknown == malformed == wrong == locked


def test_the_sign_in_page_answers_an_unknown_email_a_wrong_password_and_a_locked_account_alike(
    kleline: Kleline, app: TestClient
) -> None:
    unknown = page_answer(app, NOBODY, PASSWORD)
    wrong = page_answer(app, ADA, "not the password")
    lock_ada_out(kleline)
    locked = page_answer(app, ADA, PASSWORD)
    assert unknown[0] == 400 and b"Wrong email or password, or too many failed sign-ins" in unknown[2]
    assert unknown == wrong == locked

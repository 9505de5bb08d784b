"""A browser without JavaScript for the pages' tests over HTTP: it keeps cookies, follows no redirect by itself and
fills each form's token from the last page it got."""

from __future__ import annotations

import re

import httpx2 as httpx
from fastapi.testclient import TestClient

from .checkout_world import PASSWORD

__all__ = ["Visitor", "alert"]

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Visitor:
    """A browser without JavaScript: follows no redirect by itself, keeps cookies, fills forms from the last page."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.csrf = ""

    def get(self, path: str) -> httpx.Response:
        response = self.client.get(path)
        found = _CSRF.search(response.text)
        if found:
            self.csrf = found.group(1)
        return response

    def post(self, path: str, csrf: str | None = None, **fields: str) -> httpx.Response:
        data = {"csrf_token": self.csrf if csrf is None else csrf, **fields}
        return self.client.post(path, data=data)

    def sign_in(self, payment_id: str, email: str = "ada@example.org", password: str = PASSWORD) -> httpx.Response:
        self.get(f"/checkout/{payment_id}")
        response = self.post("/sign-in", email=email, password=password, next=f"/checkout/{payment_id}")
        assert response.status_code == 303, response.text
        self.get(f"/checkout/{payment_id}")
        return response

    def sign_in_to(self, path: str, email: str = "ada@example.org", password: str = PASSWORD) -> httpx.Response:
        """Sign in from the sign-in page that ``path`` sends a signed-out visitor to, and come back to ``path``."""
        self.get("/sign-in")
        response = self.post("/sign-in", email=email, password=password, next=path)
        assert response.status_code == 303, response.text
        return self.get(path)


def alert(response: httpx.Response) -> str:
    """The error summary of a page (it must have one)."""
    found = re.search(r'<div class="error-summary" role="alert".*?</div>', response.text, re.S)
    assert found, response.text
    return found.group(0)

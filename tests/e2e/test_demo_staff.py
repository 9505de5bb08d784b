"""The demo's staff: one person per role, printed with the demo password and the authenticator's secret the first
time, each able to sign in to the console with them; a second run makes nobody again and prints no secret."""

from __future__ import annotations

from collections.abc import Iterator

import pyotp
import pytest
from fastapi.testclient import TestClient

from kleline.api.app import create_app
from kleline.bootstrap import Kleline, build
from kleline.config import load_settings
from kleline.demo import Addresses, banner, seed
from kleline.demo.data import PASSWORD, STAFF
from kleline.staff.actor import command_line
from kleline.staff.audit import verify
from kleline.staff.roles import Role

from .console_world import ConsoleVisitor

KLELINE_URL = "http://kleline.test"


@pytest.fixture
def kleline(database_url: str) -> Iterator[Kleline]:
    settings = load_settings(database_url=database_url, webhooks_allow_loopback=True, public_url=KLELINE_URL)
    system = build(settings)
    try:
        yield system
    finally:
        system.close()


def test_the_demo_prints_one_staff_user_per_role_who_signs_in_to_the_console(kleline: Kleline) -> None:
    addresses = Addresses(kleline="http://127.0.0.1:8000", shop="http://127.0.0.1:8001")
    data = seed(kleline, shop_url=addresses.shop)
    assert [(person.email, person.role) for person in data.staff] == list(STAFF)
    assert {person.role for person in data.staff} == set(Role)
    text = "\n".join(banner(data, addresses, shop_running=True))
    assert f"sign in at http://127.0.0.1:8000/console/sign-in, password '{PASSWORD}'" in text
    for person in data.staff:
        assert person.totp_secret is not None
        assert f"{person.email}" in text and f"authenticator secret {person.totp_secret}" in text

    with TestClient(create_app(kleline), follow_redirects=False, base_url=KLELINE_URL) as client:
        for person in data.staff:
            assert person.totp_secret is not None
            visitor = ConsoleVisitor(client)
            client.cookies.clear()
            visitor.get("/console/sign-in")
            answer = visitor.post("/console/sign-in", email=person.email, password=person.password, next="/console")
            assert answer.headers["location"].startswith("/console/sign-in/code"), answer.text
            visitor.get(answer.headers["location"])
            code = pyotp.TOTP(person.totp_secret).now()
            done = visitor.post("/console/sign-in/code", code=code, next="/console")
            assert (done.status_code, done.headers["location"]) == (303, "/console"), done.text
            home = visitor.get("/console")
            assert f"<dd>{person.email}</dd>" in home.text

    again = seed(kleline, shop_url=addresses.shop)
    assert all(person.totp_secret is None for person in again.staff)
    assert "Their authenticator secrets were shown by the first run" in "\n".join(
        banner(again, addresses, shop_running=True)
    )
    assert len(kleline.staff_team.list(command_line())) == len(STAFF)
    assert verify(kleline.db).ok

"""Rules of the dashboard's pages that need no database: where a sign-in may lead, how refusals are worded."""

from __future__ import annotations

import pytest

from kleline.merchant_users import InvitationUnusable, LastOwner, NotAllowed
from kleline.merchant_users.audit import ACTIONS
from kleline.wallet.customers import REFUSED_SIGN_IN, AuthenticationFailed, SignInLocked
from kleline.wallet.sca import CodeInvalid
from kleline.web.dashboard.visits import dashboard_next
from kleline.web.dashboard.wording import ACTION_NAMES, NOTES, dashboard_error
from kleline.web.i18n import ENGLISH, FRENCH


@pytest.mark.parametrize("target", ["/dashboard", "/dashboard/settings/users", "/dashboard/confirm?next=/dashboard"])
def test_a_sign_in_may_lead_to_a_dashboard_page(target: str) -> None:
    assert dashboard_next(target) == target


@pytest.mark.parametrize(
    "target", [None, "", "https://evil.example/", "//evil.example", "/wallet", "/dashboardx", "/sign-in", "/\\x"]
)
def test_a_sign_in_never_leads_off_the_dashboard(target: str | None) -> None:
    assert dashboard_next(target) == "/dashboard"


def test_a_locked_user_reads_what_a_wrong_password_reads_in_both_languages() -> None:
    for language in (ENGLISH, FRENCH):
        wrong = dashboard_error(AuthenticationFailed(REFUSED_SIGN_IN), language=language)
        locked = dashboard_error(SignInLocked(REFUSED_SIGN_IN), language=language)
        assert wrong == locked


def test_the_dashboards_own_refusals_are_worded_in_french() -> None:
    for error in (
        NotAllowed("a user with the role support cannot do this (invite)"),
        LastOwner("the merchant's last owner ..."),
        InvitationUnusable("expired", reason="expired"),
    ):
        english, french = dashboard_error(error, language=ENGLISH), dashboard_error(error, language=FRENCH)
        assert english.message != french.message and english.code == french.code == error.code
        assert "merchant" not in english.message and "role support" not in english.message


def test_wrong_codes_count_their_attempts_left_in_each_language() -> None:
    assert "(1 attempt left)" in dashboard_error(CodeInvalid(1), language=ENGLISH).message
    assert "(1\u00a0essai restant)" in dashboard_error(CodeInvalid(1), language=FRENCH).message


def test_every_recorded_action_and_note_has_a_wording() -> None:
    assert set(ACTION_NAMES) == set(ACTIONS)
    assert all(kind.startswith("dashboard_") for kind in NOTES)

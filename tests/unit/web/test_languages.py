"""Which language a page is shown in, and how French pages write amounts, times and refusals."""

from __future__ import annotations

import pytest

from kleline.errors import ValidationError
from kleline.money import Money
from kleline.ratelimit import RateLimited
from kleline.wallet.customers import REFUSED_SIGN_IN, AuthenticationFailed, SignInLocked
from kleline.wallet.sca import CodeInvalid
from kleline.web.i18n import ENGLISH, FRENCH, accepted_languages, chosen
from kleline.web.refusals import page_error
from kleline.web.rendering import environment, environment_for


def test_accept_language_is_read_most_wanted_first() -> None:
    header = "de;q=0.3, fr-FR, en;q=0.8, *;q=0.1, it;q=0"
    assert accepted_languages(header) == ["fr-FR", "en", "de"]


@pytest.mark.parametrize("header", ["fr-FR,fr;q=0.9,en-US;q=0.8,en;q=0.7", "fr", "FR-be", "de-DE, fr;q=0.5"])
def test_a_browser_that_prefers_french_gets_french(header: str) -> None:
    assert chosen(None, None, header) is FRENCH


@pytest.mark.parametrize("header", [None, "", "en-US,en;q=0.9", "en-GB", "de-DE,de;q=0.9", "en;q=0.9, fr;q=0.8"])
def test_without_a_wish_for_french_the_page_is_english(header: str | None) -> None:
    assert chosen(None, None, header) is ENGLISH


def test_the_query_beats_the_cookie_which_beats_the_browser() -> None:
    assert chosen("en", "fr", "fr-FR") is ENGLISH
    assert chosen(None, "en", "fr-FR") is ENGLISH
    assert chosen(None, "fr", "en-GB") is FRENCH
    assert chosen("klingon", "unknown", "fr") is FRENCH  # unknown choices are ignored, not errors


def test_french_amounts_have_a_decimal_comma_and_the_euro_sign_after_a_non_breaking_space() -> None:
    assert FRENCH.money(Money(1250, "EUR")) == "12,50\u00a0€"
    assert FRENCH.money(Money(123456, "EUR")) == "1\u202f234,56\u00a0€"
    assert ENGLISH.money(Money(1250, "EUR")) == "€12.50"


def test_each_language_has_its_templates_with_its_amounts_and_its_words() -> None:
    template = "{{ amount | money }} {% trans %}Paid{% endtrans %}"
    assert environment_for(FRENCH).from_string(template).render(amount=Money(4250, "EUR")) == "42,50\u00a0€ Payé"
    assert environment.from_string(template).render(amount=Money(4250, "EUR")) == "€42.50 Paid"


def test_translated_words_are_still_escaped() -> None:
    template = "{% trans name=name %}Signed in as {{ name }}{% endtrans %}"
    assert environment_for(FRENCH).from_string(template).render(name="<b>Ada</b>") == (
        "Connecté en tant que &lt;b&gt;Ada&lt;/b&gt;"
    )


def test_a_refusal_on_a_french_page_is_worded_in_french_with_its_code() -> None:
    shown = page_error(AuthenticationFailed(REFUSED_SIGN_IN), language=FRENCH)
    assert (shown.message, shown.code) == (
        "Adresse e-mail ou mot de passe incorrect, ou trop de tentatives échouées\u00a0: vérifiez-les, ou réessayez "
        "plus tard",
        "invalid_credentials",
    )


def test_an_english_page_words_a_known_refusal_for_a_person_as_the_french_one_does() -> None:
    shown = page_error(ValidationError("name: give 1 to 200 characters", param="name"), {"name": "name"})
    assert (shown.message, shown.field) == ("Enter your name (1 to 200 characters)", "name")
    french = page_error(ValidationError("name: give 1 to 200 characters", param="name"), {"name": "name"}, FRENCH)
    assert (french.message, french.field) == ("Saisissez votre nom (de 1 à 200 caractères)", "name")


def test_a_locked_sign_in_reads_as_a_wrong_password_in_the_pages_language() -> None:
    locked = page_error(SignInLocked(REFUSED_SIGN_IN), language=FRENCH)
    wrong = page_error(AuthenticationFailed(REFUSED_SIGN_IN), language=FRENCH)
    assert locked == wrong
    assert locked.message.startswith("Adresse e-mail ou mot de passe incorrect, ou trop de tentatives échouées")


def test_a_rate_limited_form_says_how_long_to_wait_in_the_pages_language() -> None:
    limited = RateLimited("too many attempts from this client: 20 per minute; try again in 42 seconds", retry_after=42)
    assert page_error(limited, language=FRENCH).message == (
        "Trop de tentatives depuis votre connexion\u00a0: réessayez dans 42 secondes"
    )


def test_a_long_wait_is_counted_in_whole_minutes_rounded_up() -> None:
    limited = RateLimited(
        "too many attempts from this client: 10 per hour; try again in 2490 seconds", retry_after=2490
    )
    assert page_error(limited).message == "Too many attempts from your connection: try again in 42 minutes"
    assert page_error(limited, language=FRENCH).message == (
        "Trop de tentatives depuis votre connexion\u00a0: réessayez dans 42 minutes"
    )
    short = RateLimited("try again in 119 seconds", retry_after=119)
    assert page_error(short).message == "Too many attempts from your connection: try again in 119 seconds"
    assert page_error(RateLimited("try again in 121 seconds", retry_after=121)).message.endswith("in 3 minutes")


class _NewRefusal(ValidationError):
    code = "something_new"


def test_a_refusal_the_pages_do_not_know_falls_back_to_the_services_sentence() -> None:
    shown = page_error(_NewRefusal("something new went wrong"), language=FRENCH)
    assert (shown.message, shown.code) == ("Something new went wrong", "something_new")


@pytest.mark.parametrize(
    ("left", "english", "french"),
    [
        (4, "(4 attempts left)", "(4\u00a0essais restants)"),
        (2, "(2 attempts left)", "(2\u00a0essais restants)"),
        (1, "(1 attempt left)", "(1\u00a0essai restant)"),
        (0, "(0 attempts left)", "(0\u00a0essai restant)"),
    ],
)
def test_attempts_left_take_each_languages_plural_form(left: int, english: str, french: str) -> None:
    refused = CodeInvalid(left)
    assert "(s)" not in refused.detail and refused.detail.endswith(english[1:-1])
    shown_in_english = page_error(refused, {"sca_code": "sca_code"}, ENGLISH)
    assert shown_in_english.message.endswith(english) and shown_in_english.code == "sca_code_invalid"
    shown_in_french = page_error(refused, {"sca_code": "sca_code"}, FRENCH)
    assert shown_in_french.message.endswith(french) and shown_in_french.code == "sca_code_invalid"

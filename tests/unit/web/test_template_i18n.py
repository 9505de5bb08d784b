"""The fixed texts folded when a template is compiled read exactly as the runtime ``gettext`` would give them."""

from __future__ import annotations

import pytest
from jinja2 import Environment, select_autoescape

from kleline.web.i18n import LANGUAGES
from kleline.web.rendering import environment_for
from kleline.web.template_i18n import CompiledTranslations, translate_when_compiled

TEMPLATE = (
    "<p title=\"{{ _('Your shop') }}\">{% trans %}Overview{% endtrans %}|{{ _('Payments') ~ '!' }}|"
    "{{ gettext('Settings') }}|{{ _('Search payments') | upper }}|{% trans n=count %}{{ n }} <b>{% endtrans %}|"
    "{{ _(name) }}|{% trans %}100% & <safe>{% endtrans %}|{{ _('a') if flag else _('b') }}|{{ shop._('Payments') }}"
    "</p>"
)


class _Shop:
    """An object with a method named ``_``: a call of it is the object's, not a text to translate."""

    def _(self, text: str) -> str:
        return f"[{text}]"


def _runtime(code: str) -> Environment:
    """The same templates with Jinja2's own extension: every text translated at render time."""
    env = Environment(autoescape=select_autoescape(default_for_string=True), extensions=["jinja2.ext.i18n"])
    env.install_gettext_translations(LANGUAGES[code].translations, newstyle=True)  # type: ignore[attr-defined]
    return env


@pytest.mark.parametrize("code", sorted(LANGUAGES))
def test_folded_texts_read_as_the_runtime_translations_do(code: str) -> None:
    folded = Environment(autoescape=select_autoescape(default_for_string=True), extensions=[CompiledTranslations])
    folded.install_gettext_translations(LANGUAGES[code].translations, newstyle=True)  # type: ignore[attr-defined]
    translate_when_compiled(folded, LANGUAGES[code].translations.gettext)
    values = {"count": "<3>", "name": "Payouts", "flag": False, "shop": _Shop()}
    expected = _runtime(code).from_string(TEMPLATE).render(values)
    assert folded.from_string(TEMPLATE).render(values) == expected
    assert "&lt;3&gt;" in expected and "100% & <safe>" in expected  # placeholders escaped, the catalog's text not
    assert "[Payments]" in expected


def test_the_pages_environments_fold_their_fixed_texts_at_compile_time() -> None:
    french = environment_for(LANGUAGES["fr"])
    source = french.compile("{% trans %}Overview{% endtrans %} {{ _('Payments') }}", raw=True)
    assert "Vue d’ensemble" in source and "Paiements" in source  # in the compiled code: no lookup per page
    assert "gettext" not in source

"""The pages' catalogs: the template (``messages.pot``) is what the sources say, and French translates all of it.

Re-extracting here (with the same ``babel.cfg`` as ``pybabel extract``) catches a text added to a template or a
page message and left out of the catalogs, which would otherwise show in English on a French page.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from kleline.web.i18n import catalog_path

WEB = Path(str(resources.files("kleline.web")))
LOCALE = WEB / "locale"
_PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")
# French typography: a non-breaking space (U+00A0) before a colon, a narrow one (U+202F) before ; ! ?
_TIGHT_PUNCTUATION = re.compile(r"(?<![\u00a0\u202f])[:;!?](?=\s|$)")


def _read(path: Path) -> Catalog:
    with path.open("rb") as po:
        return read_po(po, abort_invalid=True)


def _ids(catalog: Catalog) -> set[str | tuple[str, ...]]:
    return {message.id for message in catalog if message.id}


def _extracted() -> set[str | tuple[str, ...]]:
    with (LOCALE / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)
    found: set[str | tuple[str, ...]] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(str(WEB), method_map, options_map):
        found.add(message)
    return found


@pytest.fixture(scope="module")
def template() -> Catalog:
    return _read(LOCALE / "messages.pot")


@pytest.fixture(scope="module")
def french() -> Catalog:
    return _read(WEB / catalog_path("fr"))


def test_the_template_holds_exactly_the_messages_of_the_templates_and_the_page_code(template: Catalog) -> None:
    extracted = _extracted()
    assert "Pay %(amount)s" in extracted and "Sign in to your wallet" in extracted  # templates and Python both read
    assert extracted - _ids(template) == set(), "messages missing from messages.pot: run pybabel extract"
    assert _ids(template) - extracted == set(), "messages.pot holds messages no page uses any more"


def test_french_has_exactly_the_messages_of_the_template(template: Catalog, french: Catalog) -> None:
    assert _ids(french) == _ids(template)


def test_every_french_message_is_translated_and_none_is_fuzzy(french: Catalog) -> None:
    assert not french.fuzzy
    for message in french:
        if not message.id:
            continue
        assert not message.fuzzy, message.id
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert len(strings) == french.num_plurals if message.pluralizable else len(strings) == 1, message.id
        assert all(text.strip() for text in strings), f"untranslated: {message.id!r}"


def test_french_keeps_every_placeholder_and_link_of_the_english(french: Catalog) -> None:
    for message in french:
        if not message.id or message.pluralizable:
            continue
        assert sorted(_PLACEHOLDER.findall(message.string)) == sorted(_PLACEHOLDER.findall(message.id)), message.id
        assert message.string.count("<a ") == message.id.count("<a "), message.id


def test_french_puts_a_non_breaking_space_before_double_punctuation(french: Catalog) -> None:
    for message in french:
        for text in message.string if isinstance(message.string, tuple) else (message.string,):
            if message.id:
                assert not _TIGHT_PUNCTUATION.search(text), text
                assert "'" not in text, f"typographic apostrophe expected: {text!r}"

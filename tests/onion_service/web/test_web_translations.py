"""The gettext catalogs: complete, no fuzzy or empty entries, placeholders and HTML tags intact, no
text far longer than its source, .pot current, compiled; the extension speaks the same languages.

Every catalogue in the tree is installed (onion_service/languages.py), so a language that is not
complete fails here: it must stay out of the tree until it is."""

from __future__ import annotations

import json
import re

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from onion_service import languages
from tests.onion_service.web.webkit import ROOT

PKG = ROOT / "onion_service" / "web"
CATALOGS = PKG / "translations"
PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sd]")
TAG = re.compile(r"</?[a-zA-Z][^>]*>")
TRANSLATED = [tag for tag in languages.installed() if tag != languages.SOURCE_LANGUAGE]
EXTENSION_LOCALES = ROOT / "extension" / "_locales"
EXTENSION_PLACEHOLDER = re.compile(r"\$[A-Z_]+\$")


def too_long(source: str, text: str) -> bool:
    """A translation that would not fit where its source does: labels and buttons are short places,
    so a short source may grow by 25 characters, a sentence to three times its length (German and
    Finnish run to about twice English)."""
    return len(text) > max(3 * len(source), len(source) + 25)


def extracted() -> set[str]:
    """The msgids in the source right now, found as `pybabel extract -F babel.cfg` finds them."""
    from babel.messages.frontend import parse_mapping_cfg

    with open(PKG / "babel.cfg") as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    keywords = {"_": None, "gettext": None, "lazy_gettext": None, "ngettext": (1, 2)}
    return {
        msg if isinstance(msg, str) else msg[0]
        for _f, _l, msg, *_ in extract_from_dir(str(PKG), method_map, options_map, keywords=keywords)
    }


def catalog(name: str):
    with open(CATALOGS / name, "rb") as fh:
        return read_po(fh)


def test_pot_lists_exactly_the_strings_in_the_source():
    pot = {m.id for m in catalog("messages.pot") if m.id}
    assert pot == extracted(), "run the pybabel extract command in onion_service/web/babel.cfg"


def test_the_languages_are_the_catalogues():
    assert {"nl", "fr", "de", "en", "ar"} <= set(languages.installed())
    catalogues = {p.parent.parent.name for p in CATALOGS.glob("*/LC_MESSAGES/messages.po")}
    assert set(languages.installed()) == {"en"} | catalogues


@pytest.mark.parametrize("lang", TRANSLATED)
def test_catalog_is_complete_and_clean(lang):
    source = extracted()
    po = catalog(f"{lang}/LC_MESSAGES/messages.po")
    entries = {m.id: m for m in po if m.id}
    assert not source - set(entries), f"{lang} misses {sorted(source - set(entries))[:3]}"
    assert not set(entries) - source, f"{lang} has obsolete {sorted(set(entries) - source)[:3]}"
    for msgid, m in entries.items():
        assert not m.fuzzy, f"{lang}: fuzzy {msgid!r}"
        assert m.string and m.string.strip(), f"{lang}: empty {msgid!r}"
        assert sorted(PLACEHOLDER.findall(m.string)) == sorted(PLACEHOLDER.findall(msgid)), f"{lang}: {msgid}"
        assert TAG.findall(m.string) == TAG.findall(msgid), f"{lang}: HTML differs in {msgid!r}"
        assert not too_long(msgid, m.string), f"{lang}: too long for its place: {m.string!r}"
        # Numbered questions keep their number; questions stay questions.
        if msgid[:2] in {f"{i}." for i in range(1, 9)}:
            assert m.string.startswith(msgid[:2])
    assert po.locale.language == lang


def test_french_uses_non_breaking_spaces_before_high_punctuation():
    po = catalog("fr/LC_MESSAGES/messages.po")
    for m in po:
        if m.id:
            assert not re.search(r"[^\u00a0\u202f][?:;!](\s|$)", m.string.replace("%(address)s", "")), m.string


def test_compiled_catalogs_are_current():
    # `make translations` (run by `make install`) compiles them; a stale .mo would serve old text.
    for lang in TRANSLATED:
        po = CATALOGS / lang / "LC_MESSAGES" / "messages.po"
        mo = po.with_suffix(".mo")
        assert mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime, f"run `make translations` ({lang})"


def test_the_extension_speaks_the_servers_languages_with_the_same_messages():
    assert {p.name for p in EXTENSION_LOCALES.iterdir()} == set(languages.installed())
    source = json.loads((EXTENSION_LOCALES / "en" / "messages.json").read_text())
    for lang in languages.installed():
        messages = json.loads((EXTENSION_LOCALES / lang / "messages.json").read_text())
        assert set(messages) == set(source), f"{lang}: keys differ"
        for key, entry in messages.items():
            text = entry["message"]
            assert text.strip(), f"{lang}: empty {key}"
            assert EXTENSION_PLACEHOLDER.findall(text) == EXTENSION_PLACEHOLDER.findall(source[key]["message"]), key
            assert set(entry.get("placeholders", {})) == set(source[key].get("placeholders", {})), f"{lang}: {key}"


def test_a_mistranslated_placeholder_or_tag_is_caught():
    # The checks above, on what they must refuse.
    assert sorted(PLACEHOLDER.findall("%(limit)s adressen")) != sorted(PLACEHOLDER.findall("%(limit)d addresses"))
    assert TAG.findall("<b>vet</b>") != TAG.findall("<strong>bold</strong>")
    assert too_long("Yes", "Ja, ja, ja, ja, ja, ja, ja, ja, ja") and not too_long("Yes", "Ja")


def test_every_language_has_its_takedown_letter():
    from crypto.case.letter_texts import LETTERS

    assert set(languages.installed()) <= set(LETTERS)

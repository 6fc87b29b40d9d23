"""The gettext catalogs: complete, no fuzzy or empty entries, placeholders intact, .pot current."""

from __future__ import annotations

import re

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from webkit import ROOT

PKG = ROOT / "onion_service" / "web"
CATALOGS = PKG / "translations"
PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sd]")


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


@pytest.mark.parametrize("lang", ["nl", "fr", "de"])
def test_catalog_is_complete_and_clean(lang):
    source = extracted()
    po = catalog(f"{lang}/LC_MESSAGES/messages.po")
    entries = {m.id: m for m in po if m.id}
    assert not source - set(entries), f"{lang} misses {sorted(source - set(entries))[:3]}"
    assert not set(entries) - source, f"{lang} has obsolete {sorted(set(entries) - source)[:3]}"
    for msgid, m in entries.items():
        assert not m.fuzzy, f"{lang}: fuzzy {msgid!r}"
        assert m.string and m.string.strip(), f"{lang}: empty {msgid!r}"
        assert sorted(PLACEHOLDER.findall(m.string)) == sorted(PLACEHOLDER.findall(msgid)), msgid
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
    for lang in ("nl", "fr", "de"):
        po = CATALOGS / lang / "LC_MESSAGES" / "messages.po"
        mo = po.with_suffix(".mo")
        assert mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime, f"run `make translations` ({lang})"

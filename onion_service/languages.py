"""The languages this server can speak: whatever the translation catalogues hold.

A language is installed by adding its files: `web/translations/<tag>/LC_MESSAGES/messages.po`
(compiled to `.mo` by `make translations`), and `extension/_locales/<tag>/messages.json` for the
extension. Nothing in the code lists languages. English is the source language: it has no
catalogue and is always installed. Flask-free, so that the configuration can check against it.
"""

from __future__ import annotations

import functools
from pathlib import Path

from babel import Locale, UnknownLocaleError

from crypto.envelope.language import is_language_tag
from crypto.errors import Error

TRANSLATIONS = Path(__file__).parent / "web" / "translations"
SOURCE_LANGUAGE = "en"


class LanguageError(Error):
    """A catalogue that cannot be served: a name that is no language tag, or one babel does not know,
    or a .po file not compiled."""


@functools.cache
def installed(directory: Path = TRANSLATIONS) -> tuple[str, ...]:
    """Every language with a catalogue in `directory`, and English; sorted by tag."""
    found = {SOURCE_LANGUAGE}
    for po in directory.glob("*/LC_MESSAGES/messages.po"):
        tag = po.parent.parent.name
        if not is_language_tag(tag):
            raise LanguageError(f"{po}: {tag!r} is not a language tag")
        try:
            Locale.parse(tag)
        except (UnknownLocaleError, ValueError):
            raise LanguageError(f"{po}: babel has no locale data for {tag!r}") from None
        if not po.with_suffix(".mo").is_file():
            # Without it babel would quietly serve the English source text under /<tag>/.
            raise LanguageError(f"{po} is not compiled: run `make translations`")
        found.add(tag)
    return tuple(sorted(found))


@functools.cache
def endonym(tag: str) -> str:
    """The language named in itself ("Español", "العربية"): the switcher must be readable by someone
    who does not read the current page's language."""
    name = Locale.parse(tag).get_display_name(tag) or tag
    return name[:1].upper() + name[1:]


@functools.cache
def direction(tag: str) -> str:
    """ "rtl" or "ltr", for the html element's dir attribute."""
    return "rtl" if Locale.parse(tag).text_direction == "rtl" else "ltr"

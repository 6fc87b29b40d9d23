"""Languages: the language lives in the URL path (/nl/, /ar/, …), never in a cookie.

Every page, error pages included, takes its language from the first path segment when that is an
offered language, and from the configured default otherwise. The one negotiation is on "/": a
browser that sends Accept-Language is sent on to the best offered match (Tor Browser sends en-US
to everyone, so every page shows the language switcher first); one that sends none gets the list.
A page always says the same thing for the same URL.
"""

from __future__ import annotations

from flask import Flask, request
from flask_babel import Babel

from onion_service import languages as installed_languages

# Accept-Language is read up to this many characters: a longer header is a machine's, not a browser's.
MAX_ACCEPT_CHARS = 512


def language_of_path(path: str, offered: tuple[str, ...], default: str) -> str:
    first = path.lstrip("/").split("/", 1)[0]
    return first if first in offered else default


def from_accept_language(header: str, offered: tuple[str, ...]) -> str | None:
    """The offered language the header prefers most, matching "pt-BR" to "pt"; None if none matches."""
    if not header or len(header) > MAX_ACCEPT_CHARS:
        return None
    ranked: list[tuple[float, int, str]] = []
    for n, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                quality = float(params[2:])
            except ValueError:
                continue
        if quality > 0 and tag:
            ranked.append((-quality, n, tag.strip().lower()))
    by_lower = {tag.lower().replace("_", "-"): tag for tag in offered}
    for _q, _n, tag in sorted(ranked):
        for candidate in (tag, tag.split("-", 1)[0]):
            if candidate in by_lower:
                return by_lower[candidate]
    return None


def init_babel(app: Flask, offered: tuple[str, ...], default_language: str) -> None:
    def select() -> str:
        return language_of_path(request.path, offered, default_language)

    app.config["BABEL_DEFAULT_LOCALE"] = default_language
    Babel(app, locale_selector=select, default_translation_directories=str(installed_languages.TRANSLATIONS))


def switcher(offered: tuple[str, ...]) -> list[tuple[str, str]]:
    """(tag, the language's name in itself) for each offered language, in the configured order."""
    return [(tag, installed_languages.endonym(tag)) for tag in offered]

"""Languages: the language lives in the URL path (/nl/, /fr/, /de/, /en/), never in a cookie.

Every page, error pages included, takes its language from the first path segment when that is a
language, and from the configured default otherwise. Nothing is negotiated from Accept-Language:
the reporter chooses by following a link, and a page always says the same thing for the same URL.
"""

from __future__ import annotations

from flask import Flask, request
from flask_babel import Babel

from crypto.envelope.report import LANGUAGES

# Each language named in itself: the language links must be readable by someone who does not
# read the current page's language.
NAMES = {"nl": "Nederlands", "fr": "Français", "de": "Deutsch", "en": "English"}


def language_of_path(path: str, default: str) -> str:
    first = path.lstrip("/").split("/", 1)[0]
    return first if first in LANGUAGES else default


def init_babel(app: Flask, default_language: str) -> None:
    def select() -> str:
        return language_of_path(request.path, default_language)

    app.config["BABEL_DEFAULT_LOCALE"] = default_language
    Babel(app, locale_selector=select, default_translation_directories="translations")

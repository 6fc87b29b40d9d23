"""Helpers for the web tests: tokens, form fields, and files that must not hold a report.
Servers, their configuration and the staff key come from the shared harness."""

from __future__ import annotations

import time

from onion_service.config import Config
from onion_service.shared.token import FormTokens, load_or_create_secret
from tests.kit import HTML_LANG, RECEIPT, ROOT, TOKEN  # noqa: F401 (re-exported)

LANGS = ("nl", "fr", "de", "en")


def token(config: Config, lang: str, *, age_seconds: float = 30) -> str:
    """A valid token as if the form had been served `age_seconds` ago."""
    secret = load_or_create_secret(config.data_dir)
    issued = FormTokens(secret, min_seconds=0, max_seconds=1, clock=lambda: time.time() - age_seconds)
    return issued.issue(lang)


def good_fields(config: Config, lang: str = "nl", **extra) -> dict[str, object]:
    fields: dict[str, object] = {
        "urls": "http://example.org/a",
        "found_on": "website",
        "kinds": ["images"],
        "danger": "no",
        "token": token(config, lang),
        "homepage": "",
    }
    fields.update(extra)
    return fields


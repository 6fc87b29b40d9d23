"""The report form as tests and benches post it: the one token helper and the one report builder.

`token` mints a form token with the server's own secret (`issuer` mints many, for a load),
`report_fields` gives a complete, valid
report's fields, `form_body` url-encodes fields as a browser posts them, and `report_body` is the
last two at once. Tests and benches import it as `tests.formkit`.
"""

from __future__ import annotations

import time
import urllib.parse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from onion_service.shared.token import FormTokens


def issuer(data_dir: Path, *, age_seconds: float = 30) -> FormTokens:
    """Mints tokens with the secret in the server's data directory, each as if its form had been
    served `age_seconds` before it was minted. The secret is read once: a load mints one a post."""
    from onion_service.shared.token import FormTokens, load_or_create_secret

    # Only `issue` is used: the bounds a token is checked against are the server's.
    return FormTokens(
        load_or_create_secret(data_dir), min_seconds=0, max_seconds=1, clock=lambda: time.time() - age_seconds
    )


def token(data_dir: Path, lang: str, *, age_seconds: float = 30) -> str:
    """A valid form token for `lang` (the purpose a form is served for: "nl", "status-en"), as if
    the form had been served `age_seconds` ago."""
    return issuer(data_dir, age_seconds=age_seconds).issue(lang)


def report_fields(
    token: str,
    *,
    description: str = "",
    urls: str = "http://example.org/faults",
    kinds: tuple[str, ...] = ("images",),
    found_on: str = "website",
    **extra: object,
) -> dict[str, object]:
    """A complete, valid report form's fields; `extra` adds or replaces fields."""
    fields: dict[str, object] = {
        "urls": urls,
        "found_on": found_on,
        "kinds": list(kinds),
        "access": "",
        "seen_on": "",
        "description": description,
        "danger": "no",
        "contact": "",
        "token": token,
        "homepage": "",
    }
    fields.update(extra)
    return fields


def form_body(fields: dict[str, object]) -> bytes:
    """Form fields, url-encoded as a browser posts them (a list value repeats the field)."""
    pairs = []
    for name, value in fields.items():
        for v in value if isinstance(value, (list, tuple)) else [value]:
            pairs.append((name, v))
    return urllib.parse.urlencode(pairs).encode("ascii")


def report_body(token: str, **fields: object) -> bytes:
    """A complete report form, url-encoded: `report_fields` (same keywords), then `form_body`."""
    return form_body(report_fields(token, **fields))

"""What the web tests look for on the pages, in each language, as the catalogs translate it:
phrases.json, one entry a phrase, kept in one place rather than at the top of every test file."""

from __future__ import annotations

import json
from pathlib import Path

_TABLE: dict[str, dict[str, str]] = json.loads((Path(__file__).parent / "phrases.json").read_text("utf-8"))


def phrases(*names: str) -> tuple[dict[str, str], ...]:
    """The phrases by these names (keys of phrases.json), each {language: text}."""
    return tuple(_TABLE[name] for name in names)

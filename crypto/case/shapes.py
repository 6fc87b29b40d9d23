"""A report's shape (crypto/case/floods.py says what a flood is): a digest of what a script varies
least in a report's answers. Apart from floods.py so that the case file's schema, which computes
the shapes of the reports already there when it adds the column, needs nothing of the triage."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from crypto.case.normalise import address_key

# Reports of one shape on one day before they are a flood: far above what real reporters send
# alike in a day (their descriptions differ), far below a burst that costs an analyst a day.
FLOOD_MIN = 25
_TOKEN_WITH_DIGIT = re.compile(r"\w*\d\w*")
_SPACE = re.compile(r"\s+")


def _fold(text: str) -> str:
    return _SPACE.sub(" ", _TOKEN_WITH_DIGIT.sub("#", text.casefold())).strip()


def shape(fields: dict[str, Any]) -> str:
    """The shape of one report's answers (the stored JSON object)."""
    urls = fields.get("urls") or []
    parts = [
        _fold(str(fields.get("description", ""))),
        _fold(str(fields.get("access", ""))),
        str(fields.get("found_on", "")),
        sorted(str(k) for k in fields.get("kinds") or []),
        str(fields.get("language", "")),
        bool(fields.get("child_in_danger")),
        bool(fields.get("contact")),
        sorted({_fold(address_key(str(u))) for u in urls}),
    ]
    text = json.dumps(parts, ensure_ascii=True, separators=(",", ":"))
    return hashlib.sha256(f"meldpunt report shape v1\n{text}".encode("ascii")).hexdigest()[:32]


def shape_of_json(text: str) -> str | None:
    """For SQL (the migration that adds shapes): the shape of a stored answers column."""
    try:
        fields = json.loads(text)
    except (TypeError, ValueError):
        return None
    return shape(fields) if isinstance(fields, dict) else None

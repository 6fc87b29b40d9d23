"""What a browser profile keeps of the pages it showed: Chromium's history database, read the way
an examiner of the reporter's computer would (a copy, with SQLite, after the browser has closed),
and a plain search of every file in the profile for a string in the forms a URL takes."""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
import urllib.parse
from pathlib import Path


def forms_of(text: str) -> list[bytes]:
    """`text` as a profile may hold it: as is, percent-encoded (as a query or a form body does,
    more or less eagerly), in UTF-16."""
    encoded = {urllib.parse.quote(text, safe=safe) for safe in ("", "/:", "/:?=&#!~*'()")}
    encoded |= {urllib.parse.quote_plus(text, safe=safe) for safe in ("", "/:")}
    return [text.encode(), *(e.encode() for e in sorted(encoded)), text.encode("utf-16-le")]


def holds(url: str, text: str) -> bool:
    """Does `url` hold `text` in any of its forms?"""
    return any(form in url.encode() for form in forms_of(text)[:-1])


def history(profile: Path) -> list[str]:
    """Every URL and title in Chromium's history database (urls, visits' sources, searches)."""
    with tempfile.TemporaryDirectory() as tmp:
        # A copy with its journal, so that SQLite replays what was not yet checkpointed.
        for path in (profile / "Default").glob("History*"):
            if path.is_file():
                shutil.copy(path, Path(tmp) / path.name)
        db = sqlite3.connect(Path(tmp) / "History")
        try:
            rows = db.execute("SELECT url, title FROM urls").fetchall()
            rows += db.execute("SELECT term, normalized_term FROM keyword_search_terms").fetchall()
        finally:
            db.close()
    return [value for row in rows for value in row if value]


def files_holding(root: Path, text: str) -> list[str]:
    """The files under `root` (relative names) holding `text` in any of its forms."""
    needles = forms_of(text)
    found = []
    for path in sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink()):
        data = path.read_bytes()
        if any(n in data for n in needles):
            found.append(str(path.relative_to(root)))
    return found

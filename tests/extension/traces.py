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


def places(profile: Path) -> list[str]:
    """Every URL and title in Firefox's history (places.sqlite), read from a copy."""
    with tempfile.TemporaryDirectory() as tmp:
        for path in profile.glob("places.sqlite*"):
            shutil.copy(path, Path(tmp) / path.name)
        db = sqlite3.connect(Path(tmp) / "places.sqlite")
        try:
            rows = db.execute("SELECT url, title FROM moz_places").fetchall()
        finally:
            db.close()
    return [value for row in rows for value in row if value]


def mozlz4(data: bytes) -> bytes:
    """Firefox's .jsonlz4 files (session store): a magic, the size, then one LZ4 block."""
    if data[:8] != b"mozLz40\0":
        raise ValueError("not a mozLz4 file")
    size, src, out, i = int.from_bytes(data[8:12], "little"), data[12:], bytearray(), 0
    while i < len(src):
        token = src[i]
        i += 1
        length = token >> 4
        if length == 15:
            while src[i] == 255:
                length += 255
                i += 1
            length += src[i]
            i += 1
        out += src[i : i + length]
        i += length
        if i >= len(src):
            break  # the last sequence has literals only
        offset = src[i] | src[i + 1] << 8
        i += 2
        match = token & 15
        if match == 15:
            while src[i] == 255:
                match += 255
                i += 1
            match += src[i]
            i += 1
        for _ in range(match + 4):  # byte by byte: a match may overlap what it copies
            out.append(out[-offset])
    if len(out) != size:
        raise ValueError("mozLz4 size mismatch")
    return bytes(out)


def files_holding(root: Path, text: str) -> list[str]:
    """The files under `root` (relative names) holding `text` in any of its forms."""
    needles = forms_of(text)
    found = []
    for path in sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink()):
        data = path.read_bytes()
        if path.name.endswith(("lz4", ".baklz4")) and data[:8] == b"mozLz40\0":
            data = mozlz4(data)  # Firefox's session store, compressed
        if any(n in data for n in needles):
            found.append(str(path.relative_to(root)))
    return found

"""What analysts decide about an address: its assessment and its status, each with its audit entry.

The assessment follows the categories hotlines exchange through INHOPE: illegal under the
international baseline, illegal under national law only, not illegal, or not found (already
gone); the apparent age group; the hosting country and provider as the analyst finds them; a note.
Every value is checked here, bounded and free of control characters, because the hand-offs
carry it to other people's systems.
"""

from __future__ import annotations

import datetime
import re
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from crypto.case import audit
from crypto.case.errors import InputError
from crypto.case.schema import STATUSES, transaction

VERDICTS = {
    "baseline": "illegal under the international baseline",
    "national": "illegal under national law",
    "not-illegal": "not illegal",
    "gone": "not found or already gone",
}
AGE_GROUPS = ("infant", "prepubescent", "pubescent", "unknown")
ILLEGAL = ("baseline", "national")

# Bounds: a provider's name, an analyst's name and a note as people write them; far below
# anything that would make a hand-off unreadable.
MAX_NAME = 200
MAX_NOTE = 2000
MAX_ADDRESSES = 1000  # per command: a day's batch, not the whole case file by accident
_COUNTRY = re.compile(r"[A-Z]{2}")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]")


@dataclass(frozen=True)
class Assessment:
    verdict: str
    age_group: str = "unknown"
    country: str = ""
    provider: str = ""
    note: str = ""


def today() -> str:
    return datetime.date.today().isoformat()


def analyst_name(name: str) -> str:
    return _text(name, "the analyst's name", MAX_NAME, required=True)


def assess(conn: sqlite3.Connection, address_ids: Sequence[int], a: Assessment, *, analyst: str,
           day: str | None = None) -> None:
    """Records the assessment of each address; a new address becomes "assessed"."""
    analyst = analyst_name(analyst)
    checked = _check(a)
    day = day or today()
    with transaction(conn):
        for aid in _existing(conn, address_ids):
            (status,) = conn.execute("SELECT status FROM addresses WHERE id = ?", (aid,)).fetchone()
            new_status = "assessed" if status == "new" else status
            conn.execute(
                "INSERT OR REPLACE INTO assessments (address, verdict, age_group, country, provider, note, analyst, day)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (aid, checked.verdict, checked.age_group, checked.country, checked.provider, checked.note, analyst, day),
            )
            if new_status != status:
                conn.execute("UPDATE addresses SET status = ?, status_day = ? WHERE id = ?", (new_status, day, aid))
            audit.append(conn, action="assess", analyst=analyst, day=day, address=aid, data={
                "verdict": checked.verdict, "age_group": checked.age_group, "country": checked.country,
                "provider": checked.provider, "note": checked.note, "status": new_status,
            })


def set_status(conn: sqlite3.Connection, address_ids: Sequence[int], status: str, *, analyst: str,
               day: str | None = None) -> None:
    """Moves each address to `status`; only assessed addresses leave "new"."""
    analyst = analyst_name(analyst)
    if status not in STATUSES or status == "new":
        raise InputError(f"unknown status {status!r}; one of {', '.join(STATUSES[1:])}")
    day = day or today()
    with transaction(conn):
        for aid in _existing(conn, address_ids):
            if status != "assessed" and conn.execute(
                    "SELECT 1 FROM assessments WHERE address = ?", (aid,)).fetchone() is None:
                raise InputError(f"address {aid} has no assessment yet: assess it first")
            conn.execute("UPDATE addresses SET status = ?, status_day = ? WHERE id = ?", (status, day, aid))
            audit.append(conn, action="status", analyst=analyst, day=day, address=aid, data={"status": status})


def _check(a: Assessment) -> Assessment:
    if a.verdict not in VERDICTS:
        raise InputError(f"unknown verdict {a.verdict!r}; one of {', '.join(VERDICTS)}")
    if a.age_group not in AGE_GROUPS:
        raise InputError(f"unknown age group {a.age_group!r}; one of {', '.join(AGE_GROUPS)}")
    country = a.country.strip().upper()
    if country and not _COUNTRY.fullmatch(country):
        raise InputError("the hosting country is a two-letter ISO 3166 code, such as NL or BE")
    return Assessment(a.verdict, a.age_group, country, _text(a.provider, "the provider", MAX_NAME),
                      _text(a.note, "the note", MAX_NOTE, multiline=True))


def _text(value: str, what: str, limit: int, *, required: bool = False, multiline: bool = False) -> str:
    value = value.strip()
    if required and not value:
        raise InputError(f"{what} is required")
    if len(value) > limit:
        raise InputError(f"{what} is longer than {limit} characters")
    if _CONTROL.search(value.replace("\n", "") if multiline else value):
        raise InputError(f"{what} holds control or direction-changing characters")
    return value


def _existing(conn: sqlite3.Connection, address_ids: Sequence[int]) -> list[int]:
    ids = list(dict.fromkeys(address_ids))
    if not ids:
        raise InputError("no address given")
    if len(ids) > MAX_ADDRESSES:
        raise InputError(f"at most {MAX_ADDRESSES} addresses at once")
    for aid in ids:
        if conn.execute("SELECT 1 FROM addresses WHERE id = ?", (aid,)).fetchone() is None:
            raise InputError(f"there is no address {aid} in the case file")
    return ids

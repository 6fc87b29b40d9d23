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

from crypto.case import attention, audit
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


FIELDS = ("verdict", "age_group", "country", "provider", "note")


@dataclass(frozen=True)
class Assessment:
    """What an analyst gives; None leaves that field as it is (an empty string empties it)."""
    verdict: str | None = None
    age_group: str | None = None
    country: str | None = None
    provider: str | None = None
    note: str | None = None


# An address's changes: field -> (old, new); "status" among them when it moved.
Changes = dict[str, tuple[str | None, str | None]]


def today() -> str:
    return datetime.date.today().isoformat()


def analyst_name(name: str) -> str:
    return _text(name, "the analyst's name", MAX_NAME, required=True)


def assess(conn: sqlite3.Connection, address_ids: Sequence[int], a: Assessment, *, analyst: str,
           day: str | None = None) -> list[tuple[int, Changes]]:
    """Changes the given fields of each address's assessment and keeps the others; a new address
    becomes "assessed". Every change goes into the audit entry with its old and new value; the
    entry also lists the danger reports this analyst has now looked at (crypto/case/attention.py).
    Returns each address with its changes (empty when it was confirmed as it stood)."""
    analyst = analyst_name(analyst)
    given = _check(a)
    day = day or today()
    out = []
    with transaction(conn):
        for aid in _existing(conn, address_ids):
            status, status_day = conn.execute("SELECT status, status_day FROM addresses WHERE id = ?",
                                              (aid,)).fetchone()
            row = conn.execute(f"SELECT {', '.join(FIELDS)} FROM assessments WHERE address = ?", (aid,)).fetchone()
            if row is None and given.verdict is None:
                raise InputError(f"address {aid} has no assessment yet: give its --verdict")
            old = dict(zip(FIELDS, row, strict=True)) if row else {f: None for f in FIELDS}
            new = {f: getattr(given, f) if getattr(given, f) is not None else old[f] for f in FIELDS}
            new = {**new, "age_group": new["age_group"] or "unknown", "country": new["country"] or "",
                   "provider": new["provider"] or "", "note": new["note"] or ""}
            changes: Changes = {f: (old[f], new[f]) for f in FIELDS if old[f] != new[f]}
            new_status = "assessed" if status == "new" else status
            if new_status != status:
                changes["status"] = (status, new_status)
                conn.execute("UPDATE addresses SET status = ?, status_day = ? WHERE id = ?", (new_status, day, aid))
            conn.execute(
                "INSERT OR REPLACE INTO assessments"
                " (address, verdict, age_group, country, provider, note, analyst, day)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (aid, *(new[f] for f in FIELDS), analyst, day))
            looked = attention.unseen_danger_reports(conn, aid)
            seq = audit.append(conn, action="assess", analyst=analyst, day=day, address=aid, data={
                **new, "status": new_status, "changed": {k: list(v) for k, v in changes.items()}, "looked_at": looked})
            attention.record_looked_at(conn, looked, seq)
            attention.decided(conn, aid)
            out.append((aid, changes))
    return out


def set_status(conn: sqlite3.Connection, address_ids: Sequence[int], status: str, *, analyst: str,
               day: str | None = None) -> list[tuple[int, Changes]]:
    """Moves each address to `status`; only assessed addresses leave "new". The entry keeps the
    status it had and since when, so that a mistaken move can be undone (crypto/case/corrections.py)."""
    analyst = analyst_name(analyst)
    if status not in STATUSES or status == "new":
        raise InputError(f"unknown status {status!r}; one of {', '.join(STATUSES[1:])}")
    day = day or today()
    out = []
    with transaction(conn):
        for aid in _existing(conn, address_ids):
            if status != "assessed" and conn.execute(
                    "SELECT 1 FROM assessments WHERE address = ?", (aid,)).fetchone() is None:
                raise InputError(f"address {aid} has no assessment yet: assess it first")
            old, old_day = conn.execute("SELECT status, status_day FROM addresses WHERE id = ?", (aid,)).fetchone()
            conn.execute("UPDATE addresses SET status = ?, status_day = ? WHERE id = ?", (status, day, aid))
            pairs = (("status", old, status), ("status_day", old_day, day))
            changes: Changes = {k: (o, n) for k, o, n in pairs if o != n}
            audit.append(conn, action="status", analyst=analyst, day=day, address=aid,
                         data={"status": status, "changed": {k: list(v) for k, v in changes.items()}})
            attention.decided(conn, aid)
            out.append((aid, changes))
    return out


def seen(conn: sqlite3.Connection, address_ids: Sequence[int], *, analyst: str,
         day: str | None = None) -> list[tuple[int, list[str], int]]:
    """Records that the analyst has looked at each address's reports and lets its status stand:
    its danger reports are looked at, and it leaves the re-reported state. Returns, per address,
    the danger reports now looked at and how many re-reported reports it had."""
    analyst = analyst_name(analyst)
    day = day or today()
    out = []
    with transaction(conn):
        for aid in _existing(conn, address_ids):
            status, fresh = conn.execute("SELECT status, fresh FROM addresses WHERE id = ?", (aid,)).fetchone()
            looked = attention.unseen_danger_reports(conn, aid)
            seq = audit.append(conn, action="seen", analyst=analyst, day=day, address=aid,
                               data={"status": status, "re_reported": fresh, "looked_at": looked})
            attention.record_looked_at(conn, looked, seq)
            attention.decided(conn, aid)
            out.append((aid, looked, fresh))
    return out


def _check(a: Assessment) -> Assessment:
    if a.verdict is not None and a.verdict not in VERDICTS:
        raise InputError(f"unknown verdict {a.verdict!r}; one of {', '.join(VERDICTS)}")
    if a.age_group is not None and a.age_group not in AGE_GROUPS:
        raise InputError(f"unknown age group {a.age_group!r}; one of {', '.join(AGE_GROUPS)}")
    country = None if a.country is None else a.country.strip().upper()
    if country and not _COUNTRY.fullmatch(country):
        raise InputError("the hosting country is a two-letter ISO 3166 code, such as NL or BE")
    return Assessment(a.verdict, a.age_group, country,
                      None if a.provider is None else _text(a.provider, "the provider", MAX_NAME),
                      None if a.note is None else _text(a.note, "the note", MAX_NOTE, multiline=True))


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

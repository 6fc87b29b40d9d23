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
from typing import Any

from crypto.case import attention, audit, countries, tracks
from crypto.case.classification import EXTRA
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
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]")


# The classification fields (crypto/case/classification.py) come after the first five; an
# audit entry written before them lacks them, read as "" (not assessed).
FIELDS = ("verdict", "age_group", "country", "provider", "note", *EXTRA)
COLUMNS = ", ".join(FIELDS)


@dataclass(frozen=True)
class Assessment:
    """What an analyst gives; None leaves that field as it is (an empty string empties it)."""

    verdict: str | None = None
    age_group: str | None = None
    country: str | None = None
    provider: str | None = None
    note: str | None = None
    gender: str | None = None
    content_type: str | None = None
    virtual: str | None = None
    site_type: str | None = None
    commercial: str | None = None
    activity: str | None = None


# An address's changes: field -> (old, new); "status" among them when it moved.
Changes = dict[str, tuple[str | None, str | None]]


def today() -> str:
    return datetime.date.today().isoformat()


def analyst_name(name: str) -> str:
    return _text(name, "the analyst's name", MAX_NAME, required=True)


def _decided(
    conn: sqlite3.Connection, aid: int, action: str, analyst: str, day: str, data: dict[str, Any]
) -> list[str]:
    """The audit entry of a decision on an address; it also records the danger reports the analyst
    has now looked at (returned), and the address is no longer re-reported."""
    looked = attention.unseen_danger_reports(conn, aid)
    seq = audit.append(conn, action=action, analyst=analyst, day=day, address=aid, data={**data, "looked_at": looked})
    attention.record_looked_at(conn, looked, seq)
    attention.decided(conn, aid)
    return looked


def assess(
    conn: sqlite3.Connection, address_ids: Sequence[int], a: Assessment, *, analyst: str, day: str | None = None
) -> list[tuple[int, Changes]]:
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
            status, status_day = conn.execute(
                "SELECT status, status_day FROM addresses WHERE id = ?", (aid,)
            ).fetchone()
            row = conn.execute(f"SELECT {', '.join(FIELDS)} FROM assessments WHERE address = ?", (aid,)).fetchone()
            if row is None and given.verdict is None:
                raise InputError(f"address {aid} has no assessment yet: give its --verdict")
            old = dict(zip(FIELDS, row, strict=True)) if row else {f: None for f in FIELDS}
            new = {f: getattr(given, f) if getattr(given, f) is not None else old[f] for f in FIELDS}
            new = {
                **{f: new[f] or "" for f in FIELDS},
                "verdict": new["verdict"],
                "age_group": new["age_group"] or "unknown",
            }
            changes: Changes = {
                f: (old[f], new[f]) for f in FIELDS if old[f] != new[f] and not (old[f] is None and new[f] == "")
            }
            new_status = "assessed" if status == "new" else status
            if new_status != status:
                changes["status"] = (status, new_status)
                conn.execute("UPDATE addresses SET status = ?, status_day = ? WHERE id = ?", (new_status, day, aid))
            conn.execute(
                f"INSERT OR REPLACE INTO assessments (address, {COLUMNS}, analyst, day)"
                f" VALUES (?, {', '.join('?' * len(FIELDS))}, ?, ?)",
                (aid, *(new[f] for f in FIELDS), analyst, day),
            )
            _decided(
                conn,
                aid,
                "assess",
                analyst,
                day,
                {**new, "status": new_status, "changed": {k: list(v) for k, v in changes.items()}},
            )
            out.append((aid, changes))
    return out


def set_status(
    conn: sqlite3.Connection,
    address_ids: Sequence[int],
    status: str | None,
    *,
    analyst: str,
    day: str | None = None,
    track: str | None = None,
    reference: str | None = None,
    note: str | None = None,
) -> list[tuple[int, Changes]]:
    """Moves each address to `status` on its track (crypto/case/tracks.py), with a reference and
    a note; only assessed addresses leave "new". The address's status becomes this one; its other
    tracks stay as they are. Without a status, only the track's reference or note change. The entry
    keeps what changed, old and new, so that a mistaken move can be undone (crypto/case/corrections.py)."""
    analyst = analyst_name(analyst)
    if status is not None and (status not in STATUSES or status == "new"):
        raise InputError(f"unknown status {status!r}; one of {', '.join(STATUSES[1:])}")
    name = tracks.track_of(status, track)
    if name is None and (reference is not None or note is not None):
        raise InputError("--reference and --note belong to a track: a takedown, police or hotline status")
    reference = None if reference is None else _text(reference, "the reference", tracks.MAX_REFERENCE)
    note = None if note is None else _text(note, "the note", MAX_NOTE, multiline=True)
    day = day or today()
    out = []
    with transaction(conn):
        for aid in _existing(conn, address_ids):
            if (
                status != "assessed"
                and conn.execute("SELECT 1 FROM assessments WHERE address = ?", (aid,)).fetchone() is None
            ):
                raise InputError(f"address {aid} has no assessment yet: assess it first")
            old, old_day = conn.execute("SELECT status, status_day FROM addresses WHERE id = ?", (aid,)).fetchone()
            changes: Changes = {}
            data: dict = {}
            recorded = status  # the status the entry records: this one, or the track's own
            if status is not None:
                conn.execute("UPDATE addresses SET status = ?, status_day = ? WHERE id = ?", (status, day, aid))
                pairs = (("status", old, status), ("status_day", old_day, day))
                changes = {k: (o, n) for k, o, n in pairs if o != n}
            if name is not None:
                now = tracks.of_address(conn, aid)
                had = now.get(name)
                if had is None and status is None:
                    raise InputError(f"address {aid} is not on the {name} track yet: give its --set STATUS")
                was: dict[str, str | None] = dict(had) if had else {"state": None, "reference": "", "note": ""}
                recorded = status or had["state"] if had else status
                now[name] = {
                    "state": str(recorded),
                    "day": day,
                    "reference": str(was["reference"]) if reference is None else reference,
                    "note": str(was["note"]) if note is None else note,
                    "analyst": analyst,
                }
                tracks.write(conn, aid, now)
                for k in ("state", "reference", "note"):
                    if was[k] != now[name][k] and not (was[k] is None and now[name][k] == ""):
                        changes[f"{name} {k}"] = (was[k], now[name][k])
                data = {"track": name, "reference": now[name]["reference"], "note": now[name]["note"]}
                if status is None:  # the address's status stays; its track's state is recorded
                    data["status_unchanged"] = True
            audit.append(
                conn,
                action="status",
                analyst=analyst,
                day=day,
                address=aid,
                data={"status": recorded, **data, "changed": {k: list(v) for k, v in changes.items()}},
            )
            attention.decided(conn, aid)
            out.append((aid, changes))
    return out


def seen(
    conn: sqlite3.Connection, address_ids: Sequence[int], *, analyst: str, day: str | None = None
) -> list[tuple[int, list[str], int]]:
    """Records that the analyst has looked at each address's reports and lets its status stand:
    its danger reports are looked at, and it leaves the re-reported state. Returns, per address,
    the danger reports now looked at and how many re-reported reports it had."""
    analyst = analyst_name(analyst)
    day = day or today()
    out = []
    with transaction(conn):
        for aid in _existing(conn, address_ids):
            status, fresh = conn.execute("SELECT status, fresh FROM addresses WHERE id = ?", (aid,)).fetchone()
            looked = _decided(conn, aid, "seen", analyst, day, {"status": status, "re_reported": fresh})
            out.append((aid, looked, fresh))
    return out


def _check(a: Assessment) -> Assessment:
    if a.verdict is not None and a.verdict not in VERDICTS:
        raise InputError(f"unknown verdict {a.verdict!r}; one of {', '.join(VERDICTS)}")
    if a.age_group is not None and a.age_group not in AGE_GROUPS:
        raise InputError(f"unknown age group {a.age_group!r}; one of {', '.join(AGE_GROUPS)}")
    for name, allowed in EXTRA.items():
        value = getattr(a, name)
        if value not in (None, "") and value not in allowed:
            raise InputError(f"unknown {name.replace('_', ' ')} {value!r}; one of {', '.join(allowed)}")
    country = None if a.country is None else a.country.strip().upper()
    if country:
        country = countries.check(country)
    return Assessment(
        a.verdict,
        a.age_group,
        country,
        None if a.provider is None else _text(a.provider, "the provider", MAX_NAME),
        None if a.note is None else _text(a.note, "the note", MAX_NOTE, multiline=True),
        *(getattr(a, name) for name in EXTRA),
    )


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

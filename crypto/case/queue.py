"""Reading the case file: the triage queue, one address with its reports and history, look-ups.

The queue comes in three parts, each in triage order (a child in immediate danger first, then the
addresses most reports name, then the oldest): first every address with a danger report no analyst
has looked at yet, then the re-reported addresses (new reports since their last decision), then
the rest (crypto/case/attention.py). Each part has an index (crypto/case/schema.py), so the first
page comes from the indexes alone however many addresses the case file holds.

The queue's states: "triage" (the default: new, re-reported, or with a danger report not looked
at), "re-reported", any status, or every address (None).
"""

from __future__ import annotations

import datetime
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from crypto.case import tracks
from crypto.case.decisions import COLUMNS, FIELDS
from crypto.case.errors import InputError
from crypto.case.normalise import keys_of
from crypto.case.schema import STATUSES
from crypto.envelope.receipt import normalise_receipt
from crypto.envelope.report import FOUND_ON, KINDS
from crypto.staff.fields import Answers

STATES = ("triage", "re-reported")  # beside STATUSES
PAGE = 50
MAX_PAGE = 1000  # rows a command prints at once; a bigger view is the CSV (`case urls`)
_ORDER = "a.danger DESC, a.reports DESC, a.first_day, a.id"
_ALONE = "a.flooded = 0"  # not every report naming it belongs to a flood (crypto/case/floods.py)


@dataclass(frozen=True)
class Address:
    id: int
    url: str
    key: str
    reports: int
    first_day: str
    last_day: str
    danger: bool
    status: str
    status_day: str | None
    fresh: int  # reports imported since the last decision, while it has one
    unseen_danger: int  # danger reports no analyst has looked at yet
    assessment: dict[str, str] | None = None

    @property
    def state(self) -> str:
        return f"{self.status}, re-reported" if self.fresh else self.status


@dataclass(frozen=True)
class Filters:
    status: str | None = "triage"  # a status or one of STATES; None: every address
    day: str | None = None  # named by a report received that day
    since: str | None = None  # ... received on that day or later
    kind: str | None = None
    found_on: str | None = None
    track: str | None = None  # on this track (crypto/case/tracks.py)


@dataclass(frozen=True)
class Mention:
    """A report on an address's page: its stored answers, and the address as this report spelled it."""

    report: Answers
    original: str


@dataclass(frozen=True)
class Details:
    address: Address
    reports: list[Mention]  # by day, then id
    history: list[dict[str, Any]] = field(default_factory=list)  # audit entries, oldest first
    tracks: dict[str, dict[str, str]] = field(default_factory=dict)  # crypto/case/tracks.py


_COLUMNS = (
    "a.id, a.url, a.key, a.reports, a.first_day, a.last_day, a.danger, a.status, a.status_day, a.fresh, a.unseen_danger"
)


def _address(row: tuple, assessment: dict[str, str] | None = None) -> Address:
    return Address(
        row[0], row[1], row[2], row[3], row[4], row[5], bool(row[6]), row[7], row[8], row[9], row[10], assessment
    )


def triage(
    conn: sqlite3.Connection, filters: Filters = Filters(), *, limit: int = PAGE, offset: int = 0
) -> list[Address]:
    """One page of the queue: its parts one after the other, each in triage order."""
    limit = max(1, min(limit, MAX_PAGE))
    offset = max(0, offset)
    rows: list[tuple] = []
    segments = _segments(filters)
    for n, (where, params) in enumerate(segments):
        if len(rows) >= limit:
            break
        if n < len(segments) - 1:  # the last part is never counted: it may be most of the case file
            size = conn.execute(f"SELECT count(*) FROM addresses a WHERE {where}", params).fetchone()[0]
            if offset >= size:
                offset -= size
                continue
        rows += conn.execute(
            f"SELECT {_COLUMNS} FROM addresses a WHERE {where} ORDER BY {_ORDER} LIMIT ? OFFSET ?",
            (*params, limit - len(rows), offset),
        ).fetchall()
        offset = 0
    return [_address(r, _assessment(conn, r[0])) for r in rows]


def count(conn: sqlite3.Connection, filters: Filters = Filters()) -> int:
    if _report_where(filters)[0]:  # filtered by reports: part by part
        return sum(
            conn.execute(f"SELECT count(*) FROM addresses a WHERE {where}", params).fetchone()[0]
            for where, params in _segments(filters)
        )

    # Otherwise from the indexes: a status's index alone, and the two small ones (fresh > 0 only
    # while an address has been decided on, so never with "new").
    def n(where: str, *params: Any) -> int:
        return conn.execute(f"SELECT count(*) FROM addresses a WHERE {where}", params).fetchone()[0]

    if f := filters.status:
        top = f"a.unseen_danger > 0 AND {_ALONE}"
        if f == "triage":
            return (
                n(f"a.status = 'new' AND {_ALONE}")
                + n(f"{top} AND +a.status != 'new'")
                + n(f"a.fresh > 0 AND NOT ({top}) AND {_ALONE}")
            )
        if f == "re-reported":
            return n(f"a.fresh > 0 AND {_ALONE}")
        _segments(filters)  # refuses an unknown status
        return n("a.status = ?", f)
    return n("1")


def _segments(f: Filters) -> list[tuple[str, list[Any]]]:
    """The queue's parts as (WHERE clause, parameters), in the order they are shown."""
    # A flooded address (crypto/case/floods.py) is never on top: its flood is, as one item; and
    # it is out of triage altogether, where its flood stands for it.
    top = f"a.unseen_danger > 0 AND {_ALONE}"
    again = f"a.fresh > 0 AND NOT ({top})"
    rest = f"a.fresh = 0 AND NOT ({top})"
    if f.status is None:
        parts: list[tuple[str, list[Any]]] = [(top, []), (again, []), (rest, [])]
    elif f.status == "triage":
        parts = [(top, []), (f"{again} AND {_ALONE}", []), (f"{rest} AND a.status = 'new' AND {_ALONE}", [])]
    elif f.status == "re-reported":
        parts = [(top + " AND a.fresh > 0", []), (f"{again} AND {_ALONE}", [])]
    elif f.status in STATUSES:
        # "+a.status": the first two parts are read from their own small indexes, not by the status's.
        parts = [
            (f"{top} AND +a.status = ?", [f.status]),
            (f"{again} AND +a.status = ?", [f.status]),
            (f"{rest} AND a.status = ?", [f.status]),
        ]
    else:
        raise InputError(f"unknown status {f.status!r}; one of {', '.join(STATES + STATUSES)}")
    where, params = _report_where(f)
    return [(f"{p}{where}", [*ps, *params]) for p, ps in parts]


def _report_where(f: Filters) -> tuple[str, list[Any]]:
    """The filters on an address's reports, as " AND EXISTS (…)" or nothing."""
    params: list[Any] = []
    report_clauses: list[str] = []
    for day, op in ((f.day, "="), (f.since, ">=")):
        if day is not None:
            report_clauses.append(f"r.day {op} ?")
            params.append(parse_day(day))
    if f.kind is not None:
        if f.kind not in KINDS:
            raise InputError(f"unknown kind {f.kind!r}; one of {', '.join(KINDS)}")
        report_clauses.append("(';' || r.kinds || ';') LIKE ?")
        params.append(f"%;{f.kind};%")
    if f.found_on is not None:
        if f.found_on not in FOUND_ON:
            raise InputError(f"unknown place {f.found_on!r}; one of {', '.join(FOUND_ON)}")
        report_clauses.append("r.found_on = ?")
        params.append(f.found_on)
    track, track_params = "", []
    if f.track is not None:
        track, track_params = " AND EXISTS (SELECT 1 FROM tracks t WHERE t.address = a.id AND t.track = ?)", [f.track]
    if not report_clauses:
        return track, track_params
    return (
        track + " AND EXISTS (SELECT 1 FROM mentions m JOIN reports r ON r.id = m.report"
        " WHERE m.address = a.id AND " + " AND ".join(report_clauses) + ")"
    ), track_params + params


def parse_day(text: str) -> str:
    try:
        return datetime.date.fromisoformat(text).isoformat()
    except ValueError:
        raise InputError(f"{text!r} is not a day (YYYY-MM-DD)") from None


def _assessment(conn: sqlite3.Connection, aid: int) -> dict[str, str] | None:
    row = conn.execute(f"SELECT {COLUMNS}, analyst, day FROM assessments WHERE address = ?", (aid,)).fetchone()
    if row is None:
        return None
    return dict(zip((*FIELDS, "analyst", "day"), row, strict=True))


def get_address(conn: sqlite3.Connection, aid: int) -> Address:
    row = conn.execute(f"SELECT {_COLUMNS} FROM addresses a WHERE a.id = ?", (aid,)).fetchone()
    if row is None:
        raise InputError(f"there is no address {aid} in the case file")
    return _address(row, _assessment(conn, aid))


def find_address(conn: sqlite3.Connection, url: str) -> Address:
    """The address a URL names, in any of its spellings (crypto/case/normalise.py)."""
    row = None
    for key in keys_of(url):  # a case file from before IDNA keys may hold the older one
        row = row or conn.execute(f"SELECT {_COLUMNS} FROM addresses a WHERE a.key = ?", (key,)).fetchone()
    if row is None:
        raise InputError("no report in the case file names that address")
    return _address(row, _assessment(conn, row[0]))


def details(conn: sqlite3.Connection, aid: int) -> Details:
    address = get_address(conn, aid)
    reports = [
        Mention(Answers.stored(rid, day, fields), original)
        for rid, day, original, fields in conn.execute(
            "SELECT r.id, r.day, m.original, r.fields FROM mentions m JOIN reports r ON r.id = m.report"
            " WHERE m.address = ? ORDER BY r.day, r.id",
            (aid,),
        )
    ]
    history = [
        json.loads(entry) for (entry,) in conn.execute("SELECT entry FROM audit WHERE address = ? ORDER BY seq", (aid,))
    ]
    return Details(address, reports, history, tracks.of_address(conn, aid))


def report_by_receipt(conn: sqlite3.Connection, receipt: str) -> list[tuple[Answers, list[int]]]:
    """(the report's stored answers, the ids of the addresses it names) per match."""
    wanted = normalise_receipt(receipt)
    out = []
    for rid, day, fields in conn.execute("SELECT id, day, fields FROM reports WHERE receipt = ?", (wanted,)):
        ids = [a for (a,) in conn.execute("SELECT address FROM mentions WHERE report = ? ORDER BY address", (rid,))]
        out.append((Answers.stored(rid, day, fields), ids))
    if not out:
        raise InputError(f"no report in the case file has the receipt code {wanted}")
    return out


def in_state(conn: sqlite3.Connection, status: str) -> Iterator[Address]:
    """The addresses with this status, their own or one of their tracks' (crypto/case/tracks.py),
    in triage order, one row at a time."""
    if status not in STATUSES:
        raise InputError(f"unknown status {status!r}; one of {', '.join(STATUSES)}")
    for row in conn.execute(
        f"SELECT {_COLUMNS} FROM addresses a WHERE a.status = ? OR a.id IN"
        f" (SELECT address FROM tracks WHERE state = ?) ORDER BY {_ORDER}",
        (status, status),
    ):
        yield _address(row, _assessment(conn, row[0]))


def every_address(conn: sqlite3.Connection, status: str | None = None) -> Iterator[Address]:
    """Every address (or those with one status), in triage order, one row at a time."""
    if status is not None and status not in STATUSES:
        raise InputError(f"unknown status {status!r}; one of {', '.join(STATUSES)}")
    where, params = ("WHERE a.status = ?", [status]) if status else ("", [])
    for row in conn.execute(f"SELECT {_COLUMNS} FROM addresses a {where} ORDER BY {_ORDER}", params):
        yield _address(row, _assessment(conn, row[0]))

"""Reading the case file: the triage queue, one address with its reports and history, look-ups.

The queue puts an address a reporter said shows a child in immediate danger first, then the
addresses most reports name, then the oldest. Both orders have an index (crypto/case/schema.py),
so the first page comes from the index alone however many addresses the case file holds.
"""

from __future__ import annotations

import datetime
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from crypto.case.errors import InputError
from crypto.case.normalise import address_key
from crypto.case.schema import STATUSES
from crypto.envelope.receipt import normalise_receipt
from crypto.envelope.report import FOUND_ON, KINDS

PAGE = 50
MAX_PAGE = 1000  # rows a command prints at once; a bigger view is the CSV (`case urls`)
_ORDER = "a.danger DESC, a.reports DESC, a.first_day, a.id"


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
    assessment: dict[str, str] | None = None


@dataclass(frozen=True)
class Filters:
    status: str | None = "new"  # None: every status
    day: str | None = None  # named by a report received that day
    kind: str | None = None
    found_on: str | None = None


@dataclass(frozen=True)
class Details:
    address: Address
    reports: list[dict[str, Any]]  # {"id", "day", "original", "fields"}
    history: list[dict[str, Any]] = field(default_factory=list)  # audit entries, oldest first


_COLUMNS = "a.id, a.url, a.key, a.reports, a.first_day, a.last_day, a.danger, a.status, a.status_day"


def _address(row: tuple, assessment: dict[str, str] | None = None) -> Address:
    return Address(row[0], row[1], row[2], row[3], row[4], row[5], bool(row[6]), row[7], row[8], assessment)


def triage(conn: sqlite3.Connection, filters: Filters = Filters(), *, limit: int = PAGE, offset: int = 0) -> list[Address]:
    """One page of the queue, in triage order."""
    where, params = _where(filters)
    limit = max(1, min(limit, MAX_PAGE))
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM addresses a {where} ORDER BY {_ORDER} LIMIT ? OFFSET ?",
        (*params, limit, max(0, offset)),
    ).fetchall()
    return [_address(r, _assessment(conn, r[0])) for r in rows]


def count(conn: sqlite3.Connection, filters: Filters = Filters()) -> int:
    where, params = _where(filters)
    return conn.execute(f"SELECT count(*) FROM addresses a {where}", params).fetchone()[0]


def _where(f: Filters) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if f.status is not None:
        if f.status not in STATUSES:
            raise InputError(f"unknown status {f.status!r}; one of {', '.join(STATUSES)}")
        clauses.append("a.status = ?")
        params.append(f.status)
    report_clauses: list[str] = []
    if f.day is not None:
        try:
            day = datetime.date.fromisoformat(f.day).isoformat()
        except ValueError:
            raise InputError(f"{f.day!r} is not a day (YYYY-MM-DD)") from None
        report_clauses.append("r.day = ?")
        params.append(day)
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
    if report_clauses:
        clauses.append("EXISTS (SELECT 1 FROM mentions m JOIN reports r ON r.id = m.report"
                       " WHERE m.address = a.id AND " + " AND ".join(report_clauses) + ")")
    return ("WHERE " + " AND ".join(clauses)) if clauses else "", params


def _assessment(conn: sqlite3.Connection, aid: int) -> dict[str, str] | None:
    row = conn.execute("SELECT verdict, age_group, country, provider, note, analyst, day FROM assessments"
                       " WHERE address = ?", (aid,)).fetchone()
    if row is None:
        return None
    return dict(zip(("verdict", "age_group", "country", "provider", "note", "analyst", "day"), row))


def get_address(conn: sqlite3.Connection, aid: int) -> Address:
    row = conn.execute(f"SELECT {_COLUMNS} FROM addresses a WHERE a.id = ?", (aid,)).fetchone()
    if row is None:
        raise InputError(f"there is no address {aid} in the case file")
    return _address(row, _assessment(conn, aid))


def find_address(conn: sqlite3.Connection, url: str) -> Address:
    """The address a URL names, in any of its spellings (crypto/case/normalise.py)."""
    row = conn.execute(f"SELECT {_COLUMNS} FROM addresses a WHERE a.key = ?", (address_key(url),)).fetchone()
    if row is None:
        raise InputError("no report in the case file names that address")
    return _address(row, _assessment(conn, row[0]))


def details(conn: sqlite3.Connection, aid: int) -> Details:
    address = get_address(conn, aid)
    reports = [
        {"id": rid, "day": day, "original": original, "fields": json.loads(fields)}
        for rid, day, original, fields in conn.execute(
            "SELECT r.id, r.day, m.original, r.fields FROM mentions m JOIN reports r ON r.id = m.report"
            " WHERE m.address = ? ORDER BY r.day, r.id", (aid,))
    ]
    history = [json.loads(entry) for (entry,) in
               conn.execute("SELECT entry FROM audit WHERE address = ? ORDER BY seq", (aid,))]
    return Details(address, reports, history)


def report_by_receipt(conn: sqlite3.Connection, receipt: str) -> list[tuple[dict[str, Any], list[int]]]:
    """(the report's fields with its id and day, the ids of the addresses it names) per match."""
    wanted = normalise_receipt(receipt)
    out = []
    for rid, day, fields in conn.execute("SELECT id, day, fields FROM reports WHERE receipt = ?", (wanted,)):
        ids = [a for (a,) in conn.execute("SELECT address FROM mentions WHERE report = ? ORDER BY address", (rid,))]
        out.append(({"id": rid, "day": day, **json.loads(fields)}, ids))
    if not out:
        raise InputError(f"no report in the case file has the receipt code {wanted}")
    return out


def every_address(conn: sqlite3.Connection, status: str | None = None) -> Iterator[Address]:
    """Every address (or those with one status), in triage order, one row at a time."""
    where, params = _where(Filters(status=status))
    for row in conn.execute(f"SELECT {_COLUMNS} FROM addresses a {where} ORDER BY {_ORDER}", params):
        yield _address(row, _assessment(conn, row[0]))

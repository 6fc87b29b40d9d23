"""A flood that got through is one item: reports of one shape on one day, grouped and dismissed together.

The server's budgets slow a burst of fake reports but cannot tell it from real ones, so some may
reach the case file: a thousand reports that differ only in a number. Each report's shape is a
digest of what a script varies least: its description and access text with every token holding a
digit replaced by "#", case and spacing folded; where it was found, its kinds, language, the
danger answer, whether it gave a contact; and its addresses' keys with the same replacement. When
at least FLOOD_MIN reports of one day share a shape and name at least FLOOD_MIN addresses between
them, they are a flood (table `floods`). Many reports on one address are not: they are one item in
the queue already, and a link passed around is reported alike by many real reporters.

An address every report of which belongs to a flood is `flooded`: it leaves the triage queue,
and the flood stands in its place there as one item, with its counts and danger reports, at the
top until an analyst dismisses it (`case dismiss-flood`). An address also named by any other
report stays in the queue on its own, so real reports next to a flood are never grouped away.
Dismissing is one audit entry per flood naming its day, shape and the reports it covers; their
danger reports are looked at by it. Reports of the shape that arrive later bring the flood back.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from crypto.case import attention, audit
from crypto.case.decisions import analyst_name, today
from crypto.case.errors import InputError
from crypto.case.retention import MARK as _RETENTION_MARK
from crypto.case.schema import transaction
from crypto.case.shapes import FLOOD_MIN, shape_of_json
from crypto.staff.fields import Answers


def groups(where: str) -> str:
    """SELECT day, shape, reports of the groups that are floods among the reports `where` picks
    (a clause on `r`); its last two parameters are FLOOD_MIN, FLOOD_MIN."""
    return (
        f"SELECT r.day, r.shape, count(DISTINCT r.id) FROM reports r JOIN mentions m ON m.report = r.id {where}"
        " GROUP BY r.day, r.shape HAVING count(DISTINCT r.id) >= ? AND count(DISTINCT m.address) >= ?"
    )


_FLOODED = (
    "NOT EXISTS (SELECT 1 FROM mentions m JOIN reports r ON r.id = m.report LEFT JOIN floods f"
    " ON f.day = r.day AND f.shape = r.shape WHERE m.address = addresses.id AND f.id IS NULL)"
)


def after_import(conn: sqlite3.Connection, seq: int) -> None:
    """Groups the reports of import entry `seq` with their day's alike; inside its transaction."""
    touched = groups("WHERE (r.day, r.shape) IN (SELECT day, shape FROM reports WHERE audit_seq = ?)")
    conn.execute(
        f"INSERT INTO floods (day, shape, reports) {touched}"
        " ON CONFLICT (day, shape) DO UPDATE SET reports = excluded.reports",
        (seq, FLOOD_MIN, FLOOD_MIN),
    )
    conn.execute(
        f"UPDATE addresses SET flooded = {_FLOODED} WHERE id IN (SELECT m.address FROM mentions m"
        " JOIN reports r ON r.id = m.report WHERE (r.day, r.shape) IN (SELECT day, shape FROM reports"
        " WHERE audit_seq = ?))",
        (seq,),
    )


@dataclass(frozen=True)
class Flood:
    id: int
    day: str
    reports: int
    addresses: int  # named only by this flood's (or other floods') reports
    unseen_danger: int  # its reports saying a child is in immediate danger, not looked at yet
    dismissed_reports: int  # covered by an earlier dismissal (0: never dismissed)
    found_on: str
    description: str  # one report's, as a sample
    url: str  # one address, as a sample


def pending(conn: sqlite3.Connection) -> list[Flood]:
    """The floods not dismissed, or grown since: the triage queue's items before any address."""
    rows = conn.execute(
        "SELECT id, day, shape, reports, dismissed_reports FROM floods"
        " WHERE reports > dismissed_reports ORDER BY day, id"
    ).fetchall()
    return [_flood(conn, *row) for row in rows]


def get(conn: sqlite3.Connection, flood_id: int) -> Flood:
    row = conn.execute(
        "SELECT id, day, shape, reports, dismissed_reports FROM floods WHERE id = ?", (flood_id,)
    ).fetchone()
    if row is None:
        raise InputError(f"there is no flood {flood_id} in the case file")
    return _flood(conn, *row)


def _flood(conn: sqlite3.Connection, fid: int, day: str, shp: str, reports: int, dismissed: int) -> Flood:
    (addresses,) = conn.execute(
        "SELECT count(DISTINCT a.id) FROM reports r JOIN mentions m ON m.report = r.id JOIN addresses a"
        " ON a.id = m.address WHERE r.day = ? AND r.shape = ? AND a.flooded = 1",
        (day, shp),
    ).fetchone()
    (unseen,) = conn.execute(
        "SELECT count(*) FROM reports r LEFT JOIN looked_at l ON l.report = r.id"
        " WHERE r.day = ? AND r.shape = ? AND r.child_in_danger = 1 AND l.report IS NULL",
        (day, shp),
    ).fetchone()
    found_on, fields, url = conn.execute(
        "SELECT r.found_on, r.fields, (SELECT a.url FROM mentions m JOIN addresses a ON a.id = m.address"
        " WHERE m.report = r.id ORDER BY a.id LIMIT 1) FROM reports r WHERE r.day = ? AND r.shape = ?"
        " ORDER BY r.id LIMIT 1",
        (day, shp),
    ).fetchone()
    description = str(json.loads(fields).get("description", ""))
    return Flood(fid, day, reports, addresses, unseen, dismissed, found_on, description, url or "")


def dismiss(
    conn: sqlite3.Connection, flood_ids: Sequence[int], *, analyst: str, day: str | None = None
) -> list[tuple[Flood, list[str]]]:
    """Dismisses each flood as fake in one audit entry: its reports now, its danger reports looked
    at, its flooded addresses out of triage. Returns each flood with the danger reports looked at."""
    analyst = analyst_name(analyst)
    day = day or today()
    ids = list(dict.fromkeys(flood_ids))
    if not ids:
        raise InputError("no flood given")
    out = []
    with transaction(conn):
        for fid in ids:
            flood = get(conn, fid)
            fday, shp = conn.execute("SELECT day, shape FROM floods WHERE id = ?", (fid,)).fetchone()
            reports = [
                rid
                for (rid,) in conn.execute(
                    "SELECT id FROM reports WHERE day = ? AND shape = ? ORDER BY id", (fday, shp)
                )
            ]
            looked = [
                rid
                for (rid,) in conn.execute(
                    "SELECT r.id FROM reports r LEFT JOIN looked_at l ON l.report = r.id"
                    " WHERE r.day = ? AND r.shape = ? AND r.child_in_danger = 1 AND l.report IS NULL ORDER BY r.id",
                    (fday, shp),
                )
            ]
            addresses = [
                aid
                for (aid,) in conn.execute(
                    "SELECT DISTINCT a.id FROM reports r JOIN mentions m ON m.report = r.id JOIN addresses a"
                    " ON a.id = m.address WHERE r.day = ? AND r.shape = ? AND a.flooded = 1 ORDER BY a.id",
                    (fday, shp),
                )
            ]
            seq = audit.append(
                conn,
                action="dismiss-flood",
                analyst=analyst,
                day=day,
                data={
                    "flood": fid,
                    "day": fday,
                    "shape": shp,
                    "reports": len(reports),
                    "reports_sha256": hashlib.sha256("\n".join(reports).encode("ascii")).hexdigest(),
                    "addresses": addresses,
                    "looked_at": looked,
                },
            )
            attention.record_looked_at(conn, looked, seq)
            conn.execute(
                "UPDATE floods SET dismissed_seq = ?, dismissed_reports = ? WHERE id = ?", (seq, len(reports), fid)
            )
            out.append((flood, looked))
    return out


def sample(conn: sqlite3.Connection, flood_id: int, limit: int) -> list[Answers]:
    """The stored answers of a few of the flood's reports, the first in id order."""
    get(conn, flood_id)
    return [
        Answers.stored(rid, day, fields)
        for rid, day, fields in conn.execute(
            "SELECT r.id, r.day, r.fields FROM floods f JOIN reports r ON r.day = f.day AND r.shape = f.shape"
            " WHERE f.id = ? ORDER BY r.id LIMIT ?",
            (flood_id, limit),
        )
    ]


def of_address(conn: sqlite3.Connection, aid: int) -> list[tuple[int, str, bool]]:
    """The floods whose reports name this address: (id, day, dismissed as far as they go)."""
    return [
        (fid, day, bool(done))
        for fid, day, done in conn.execute(
            "SELECT DISTINCT f.id, f.day, f.dismissed_reports >= f.reports FROM mentions m JOIN reports r"
            " ON r.id = m.report JOIN floods f ON f.day = r.day AND f.shape = r.shape WHERE m.address = ?"
            " ORDER BY f.id",
            (aid,),
        )
    ]


def _redacted(text: str) -> bool:
    """Whether retention has taken content out of these stored answers (retention.py's MARK)."""
    try:
        answers = json.loads(text)
    except ValueError:
        return False
    return isinstance(answers, dict) and _RETENTION_MARK in answers


def recount_problem(conn: sqlite3.Connection, entries: list[dict]) -> str | None:
    """For `verify`: every report's shape from its answers, the floods from the shapes, each
    dismissal against its audit entry, and each address's flooded flag from its reports."""
    for rid, fields, shp in conn.execute("SELECT id, fields, shape FROM reports ORDER BY id"):
        # A report whose content retention removed (crypto/case/retention.py marks its answers
        # "retention") keeps the shape it was grouped by; verify checks that step's own digests.
        if shp != shape_of_json(fields) and not _redacted(fields):
            return f"report {rid}: its shape is not the one its stored answers give"
    found = {(d, s): n for d, s, n in conn.execute(groups("WHERE true"), (FLOOD_MIN, FLOOD_MIN))}
    dismissed: dict[tuple[Any, Any], tuple[Any, Any]] = {}
    for e in entries:
        if e.get("action") == "dismiss-flood":
            data = e.get("data") or {}
            dismissed[(data.get("day"), data.get("shape"))] = (e["seq"], data.get("reports"))
    for fid, d, s, n, seq, done in conn.execute(
        "SELECT id, day, shape, reports, dismissed_seq, dismissed_reports FROM floods ORDER BY id"
    ):
        if found.pop((d, s), None) != n:
            return f"flood {fid}: its count of reports ({n}) is not the number of reports of its shape that day"
        if dismissed.pop((d, s), (None, 0)) != (seq, done):
            return f"flood {fid}: its dismissal is not the one the audit log records"
    if found:
        return f"{len(found)} group(s) of at least {FLOOD_MIN} reports alike are not recorded as floods"
    if dismissed:
        return "the audit log dismisses a flood the case file does not hold"
    for aid, flooded, want in conn.execute(f"SELECT id, flooded, {_FLOODED} FROM addresses ORDER BY id"):
        if flooded != want:
            return f"address {aid}: its flooded flag ({flooded}) is not the one its reports give ({want})"
    return None

"""Nothing new is hidden: re-reported addresses, and danger reports no analyst has looked at yet.

An address an analyst has decided on (assessed, given a status) leaves the triage queue. When a
later import brings more reports naming it, it comes back as "re-reported" until the next decision
on it: `addresses.fresh` counts the reports imported since that decision.

A report marked "a child is in immediate danger" stays at the top of every queue until an analyst
has looked at it, whatever its address's state. "Looked at" is recorded, never assumed: an analyst
has looked at a danger report when an `assess` or `seen` entry in the audit log, on an address the
report names, lists it (`case assess`, `case seen`); both commands are made after reading the
address's reports. A status change alone does not count, since statuses are often set in bulk
from letters and hand-offs without the reports in front of anyone.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass


@dataclass(frozen=True)
class Arrivals:
    """What one import brought that an analyst must not miss, for its summary."""

    addresses: int = 0  # already decided on, named again by this import: re-reported
    reports: int = 0  # this import's reports naming them
    danger: int = 0  # ... of which marked "a child is in immediate danger"
    danger_total: int = 0  # this import's reports so marked, wherever they point


def after_import(conn: sqlite3.Connection, seq: int) -> Arrivals:
    """Counts the reports of import entry `seq` into each address it names; inside its transaction."""
    conn.execute(
        "UPDATE addresses SET"
        # "+r.audit_seq": per address, from its own mentions; never every report of the import once
        # per address (which SQLite's planner chose for a while: quadratic in the import's size).
        " fresh = CASE WHEN status = 'new' THEN 0 ELSE fresh + (SELECT count(*) FROM mentions m"
        "  JOIN reports r ON r.id = m.report WHERE m.address = addresses.id AND +r.audit_seq = :seq) END,"
        " unseen_danger = unseen_danger + (SELECT count(*) FROM mentions m JOIN reports r ON r.id = m.report"
        "  WHERE m.address = addresses.id AND +r.audit_seq = :seq AND r.child_in_danger = 1)"
        " WHERE id IN (SELECT m.address FROM mentions m JOIN reports r ON r.id = m.report WHERE r.audit_seq = :seq)",
        {"seq": seq},
    )
    addresses, reports, danger = conn.execute(
        "SELECT count(DISTINCT a.id), count(DISTINCT r.id), count(DISTINCT CASE WHEN r.child_in_danger = 1"
        " THEN r.id END) FROM addresses a JOIN mentions m ON m.address = a.id JOIN reports r ON r.id = m.report"
        " WHERE r.audit_seq = ? AND a.status != 'new'",
        (seq,),
    ).fetchone()
    (danger_total,) = conn.execute(
        "SELECT count(*) FROM reports WHERE audit_seq = ? AND child_in_danger = 1", (seq,)
    ).fetchone()
    return Arrivals(addresses, reports, danger, danger_total)


def unseen_danger_reports(conn: sqlite3.Connection, aid: int) -> list[str]:
    """The ids of the danger reports naming this address that no analyst has looked at yet."""
    return [
        rid
        for (rid,) in conn.execute(
            "SELECT r.id FROM mentions m JOIN reports r ON r.id = m.report LEFT JOIN looked_at l ON l.report = r.id"
            " WHERE m.address = ? AND r.child_in_danger = 1 AND l.report IS NULL ORDER BY r.id",
            (aid,),
        )
    ]


def record_looked_at(conn: sqlite3.Connection, report_ids: list[str], seq: int) -> None:
    """Marks these danger reports looked at by entry `seq`, on every address they name."""
    for rid in report_ids:
        conn.execute("INSERT INTO looked_at (report, seq) VALUES (?, ?)", (rid, seq))
        conn.execute(
            "UPDATE addresses SET unseen_danger = unseen_danger - 1"
            " WHERE id IN (SELECT address FROM mentions WHERE report = ?)",
            (rid,),
        )


def decided(conn: sqlite3.Connection, aid: int) -> None:
    """A decision on the address (assess, status, seen, undo): what was re-reported is dealt with."""
    conn.execute("UPDATE addresses SET fresh = 0 WHERE id = ?", (aid,))


def unseen_total(conn: sqlite3.Connection) -> tuple[int, list[int]]:
    """(danger reports not looked at, the ids of the addresses they name) in the whole case file,
    outside floods (crypto/case/floods.py: a flood's danger reports are counted on its own item)."""
    # Both from the addresses' small index of unseen_danger > 0, never a scan of every report.
    ids = [
        aid for (aid,) in conn.execute("SELECT id FROM addresses WHERE unseen_danger > 0 AND flooded = 0 ORDER BY id")
    ]
    (reports,) = conn.execute(
        "SELECT count(DISTINCT r.id) FROM addresses a JOIN mentions m ON m.address = a.id"
        " JOIN reports r ON r.id = m.report LEFT JOIN looked_at l ON l.report = r.id"
        " WHERE a.unseen_danger > 0 AND a.flooded = 0 AND r.child_in_danger = 1 AND l.report IS NULL"
    ).fetchone()
    return reports, ids


def recount_problem(conn: sqlite3.Connection, entries: list[dict]) -> str | None:
    """For `verify`, once the chain and each audit row's address are checked: looked_at against the
    entries listing it, then both counters recounted from the reports and the audit log."""
    listed: dict[str, int] = {}
    for e in entries:
        if e.get("action") in ("assess", "seen", "dismiss-flood"):
            for rid in (e.get("data") or {}).get("looked_at", ()):
                listed.setdefault(rid, e["seq"])
    if dict(conn.execute("SELECT report, seq FROM looked_at")) != listed:
        return "the danger reports marked looked at are not the ones the audit log lists"
    rows = conn.execute(
        "SELECT a.id, a.fresh, a.unseen_danger,"
        " CASE WHEN a.status = 'new' THEN 0 ELSE (SELECT count(*) FROM mentions m JOIN reports r ON r.id = m.report"
        "  WHERE m.address = a.id AND r.audit_seq > coalesce((SELECT max(seq) FROM audit WHERE address = a.id), 0))"
        " END,"
        " (SELECT count(*) FROM mentions m JOIN reports r ON r.id = m.report LEFT JOIN looked_at l ON l.report = r.id"
        "  WHERE m.address = a.id AND r.child_in_danger = 1 AND l.report IS NULL)"
        " FROM addresses a ORDER BY a.id"
    )
    for aid, fresh, unseen, want_fresh, want_unseen in rows:
        if (fresh, unseen) != (want_fresh, want_unseen):
            return (
                f"address {aid}: its counts of re-reported ({fresh}) and unseen danger reports ({unseen}) "
                f"are not the {want_fresh} and {want_unseen} its reports and audit entries give"
            )
    return None

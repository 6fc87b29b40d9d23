"""`meldpunt case verify`: the audit log's chain, then the tables replayed against it.

In order, the first failure of: the chain (an entry whose hash does not follow); each import's
set of report ids; what the imports wrote, where every report and address that differs is
named (the digests an import entry carries, crypto/case/digests.py, and the replay of counts,
days and mentions, crypto/case/replay.py); each address's status and assessment, each report's
public status and the status files, against their last audit entries; what retention removed,
against its entries (crypto/case/retention_log.py). A difference is a change made beside
meldpunt, or entries cut off the end of the log.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from crypto.case import digests, floods, replay, retention_log, tracks
from crypto.case.attention import recount_problem
from crypto.case.audit import check_chain
from crypto.case.decisions import COLUMNS, FIELDS
from crypto.case.importing import reports_digest

_SHOWN = 20  # differences named in one message; a whole damaged table would drown the first ones


@dataclass(frozen=True)
class Verified:
    entries: int
    head: str  # the last good entry's hash
    problem: str | None  # None when everything matches


def verify(conn: sqlite3.Connection) -> Verified:
    count, head, broken, entries = check_chain(conn)
    if broken is not None:
        return Verified(count, head, f"audit entry {broken.seq} is broken: {broken.reason}")
    return Verified(count, head, _replay(conn, entries))


def _replay(conn: sqlite3.Connection, entries: list[dict[str, Any]]) -> str | None:
    status: dict[int, tuple[str | None, str | None, int]] = {}  # address -> (status, day, seq)
    assessed: dict[int, tuple[tuple[object, ...], int]] = {}  # address -> (assessment, seq)
    imports: dict[int, dict[str, Any]] = {}
    for e in entries:
        data = e.get("data") or {}
        if e.get("action") == "import":
            imports[e["seq"]] = data
        elif e.get("action") in ("assess", "status"):
            address: int = e["address"]  # every assess and status entry names one
            if e["action"] == "assess":
                assessed[address] = ((*(data.get(f, "") for f in FIELDS), e.get("analyst"), e.get("day")), e["seq"])
                if data.get("status") != status.get(address, ("new",))[0]:
                    status[address] = (data.get("status"), e.get("day"), e["seq"])
            elif not data.get("status_unchanged"):  # a track's reference or note alone leaves it
                status[address] = (data.get("status"), e.get("day"), e["seq"])
        elif e.get("action") == "undo":  # crypto/case/corrections.py: the state it restores
            address = e["address"]
            status[address] = (data.get("status"), data.get("status_day"), e["seq"])
            a = data.get("assessment")
            if a is None:
                assessed.pop(address, None)
            else:
                assessed[address] = ((*(a.get(f, "") for f in FIELDS), a.get("analyst"), a.get("day")), e["seq"])
    kept = retention_log.replay(entries)  # what retention removed since (crypto/case/retention_log.py)
    for aid in kept.removed:
        status.pop(aid, None)
        assessed.pop(aid, None)
    for seq, data in imports.items():
        ids = [rid for (rid,) in conn.execute("SELECT id FROM reports WHERE audit_seq = ?", (seq,))]
        if len(ids) != data.get("added") or reports_digest(ids) != data.get("reports_sha256"):
            return f"the reports of import entry {seq} are not the ones it lists"
    # Each import's reports match it, so any other report is one no import brought.
    total = conn.execute("SELECT count(*) FROM reports").fetchone()[0]
    if total != sum(data.get("added", 0) for data in imports.values()):
        return "the case file holds reports that no import entry lists"
    problems = [
        p
        for seq, data in imports.items()
        if "content" in data
        for p in digests.check(conn, seq, kept.amend(data["content"]))
    ]
    legacy = {seq for seq, data in imports.items() if "content" not in data}
    problems += replay.check(conn, legacy, checked_elsewhere=kept.mentions)
    problems += retention_log.check(conn, kept, legacy)
    if problems:
        shown = "; ".join(problems[:_SHOWN])
        return shown + (f"; and {len(problems) - _SHOWN} more" if len(problems) > _SHOWN else "")
    for aid, st, day in conn.execute("SELECT id, status, status_day FROM addresses ORDER BY id"):
        want = status.get(aid)
        if (want is None and (st, day) != ("new", None)) or (want is not None and (st, day) != want[:2]):
            where = f"its last audit entry ({want[2]})" if want else "the audit log"
            return f"address {aid}: its status ({st}, {day}) is not the one {where} records"
    rows = {r[0]: r[1:] for r in conn.execute(f"SELECT address, {COLUMNS}, analyst, day FROM assessments")}
    for aid in sorted(set(rows) | set(assessed)):
        recorded = assessed.get(aid)
        if recorded is None or rows.get(aid) != recorded[0]:
            where = f"its last audit entry ({recorded[1]})" if recorded else "the audit log"
            return f"address {aid}: its assessment is not the one {where} records"
    return (
        _replay_statuses(conn, entries)
        or recount_problem(conn, entries)
        or floods.recount_problem(conn, entries)
        or tracks.problem(conn, entries)
    )


def _replay_statuses(conn: sqlite3.Connection, entries: list[dict[str, Any]]) -> str | None:
    """The reporters' statuses and the status files written, against their entries."""
    told: dict[Any, tuple] = {}
    files: dict[Any, tuple] = {}
    for e in entries:
        data = e.get("data") or {}
        if e.get("action") == "report-status":
            told[data.get("report")] = (data.get("state"), data.get("message"), e.get("analyst"), e.get("day"))
        elif e.get("action") == "status-file":
            files[data.get("version")] = (e.get("day"), data.get("entries"), data.get("sha256"))
    rows = {r[0]: r[1:] for r in conn.execute("SELECT report, state, message, analyst, day FROM report_statuses")}
    for rid in sorted(set(rows) | set(told), key=str):
        if rows.get(rid) != told.get(rid):
            return f"report {rid}: its public status is not the one the audit log records"
    written = {r[0]: r[1:] for r in conn.execute("SELECT version, day, entries, sha256 FROM status_files")}
    if written != files:
        return "the status files recorded are not the ones the audit log lists"
    return None

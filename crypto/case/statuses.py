"""What reporters are told: each report's public status, and the signed status files carrying them.

An analyst sets a report's state (crypto/status/states.py) and at most one message, both from
fixed lists: the server, and so whoever seizes it, only ever sees ids that staff chose, never
text they typed. A report without a status set is "received", since the day it was imported.
Every change and every status file written is in the audit log.

A status file holds every report of the case file, keyed by its receipt code's lookup key under
a fresh salt, and a version one above the last written: the server refuses any version it has
already seen. The version is recorded (committed) before the file is written, so that two
different files never carry the same version.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import secrets
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass

from crypto.case import audit
from crypto.case.decisions import analyst_name, today
from crypto.case.errors import InputError
from crypto.case.queue import report_by_receipt
from crypto.case.schema import transaction
from crypto.status import file as status_file
from crypto.status.keys import SigningKey
from crypto.status.lookup import SALT_BYTES, lookup_key
from crypto.status.states import MESSAGES, STATES


@dataclass(frozen=True)
class Written:
    version: int
    entries: int
    sha256: str
    data: bytes


def _checked(state: str, message: str | None, analyst: str) -> str:
    """The analyst's name, checked, then the state and the message: known ones."""
    analyst = analyst_name(analyst)
    if state not in STATES:
        raise InputError(f"unknown state {state!r}; one of {', '.join(STATES)}")
    if message is not None and message not in MESSAGES:
        raise InputError(f"unknown message {message!r}; one of {', '.join(MESSAGES)}")
    return analyst


def _set(conn: sqlite3.Connection, rid: str, state: str, message: str | None, analyst: str, day: str) -> None:
    """The report's status and the audit entry that records it, in the caller's transaction."""
    conn.execute(
        "INSERT OR REPLACE INTO report_statuses (report, state, message, analyst, day) VALUES (?, ?, ?, ?, ?)",
        (rid, state, message, analyst, day),
    )
    audit.append(
        conn, action="report-status", analyst=analyst, day=day, data={"report": rid, "state": state, "message": message}
    )


def set_report_status(
    conn: sqlite3.Connection, receipt: str, state: str, message: str | None, *, analyst: str, day: str | None = None
) -> list[str]:
    """Sets the public status of the report(s) with this receipt code; returns their ids."""
    analyst = _checked(state, message, analyst)
    day = day or today()
    ids = [report.id for report, _ in report_by_receipt(conn, receipt)]
    with transaction(conn):
        for rid in ids:
            _set(conn, rid, state, message, analyst, day)
    return ids


MAX_REPORTS = 100_000  # per command: every report on a day's addresses, not a runaway list


def set_statuses(
    conn: sqlite3.Connection,
    report_ids: list[str],
    state: str,
    message: str | None,
    *,
    analyst: str,
    day: str | None = None,
) -> tuple[int, int]:
    """Sets the public status of many reports in one transaction, each with its entry; a report
    already showing exactly this is left alone. Returns (changed, already so)."""
    analyst = _checked(state, message, analyst)
    ids = list(dict.fromkeys(report_ids))
    if not ids:
        raise InputError("no report given")
    if len(ids) > MAX_REPORTS:
        raise InputError(f"at most {MAX_REPORTS} reports at once")
    day = day or today()
    changed = 0
    with transaction(conn):
        for rid in ids:
            if conn.execute("SELECT 1 FROM reports WHERE id = ?", (rid,)).fetchone() is None:
                raise InputError(f"there is no report {rid} in the case file")
            now = conn.execute("SELECT state, message FROM report_statuses WHERE report = ?", (rid,)).fetchone()
            if now == (state, message):
                continue
            _set(conn, rid, state, message, analyst, day)
            changed += 1
    return changed, len(ids) - changed


def reports_of(conn: sqlite3.Connection, address_ids: list[int]) -> list[str]:
    """Every report naming these addresses (`report-status --address`)."""
    out: list[str] = []
    for aid in address_ids:
        if conn.execute("SELECT 1 FROM addresses WHERE id = ?", (aid,)).fetchone() is None:
            raise InputError(f"there is no address {aid} in the case file")
        out += [rid for (rid,) in conn.execute("SELECT report FROM mentions WHERE address = ? ORDER BY report", (aid,))]
    return out


def current(conn: sqlite3.Connection, report_id: str) -> tuple[str, str | None, str]:
    """(state, message, since) a reporter typing this report's code sees now (before the next status file)."""
    row = conn.execute("SELECT state, message, day FROM report_statuses WHERE report = ?", (report_id,)).fetchone()
    if row is not None:
        return row
    (entry,) = conn.execute(
        "SELECT a.entry FROM reports r JOIN audit a ON a.seq = r.audit_seq WHERE r.id = ?", (report_id,)
    ).fetchone()
    return "received", None, json.loads(entry)["day"]


def public_statuses(conn: sqlite3.Connection) -> Iterator[tuple[str, str, str | None, str]]:
    """(receipt, state, message, day) of every report in the case file."""
    # An import's entry carries a digest per report it added (crypto/case/digests.py), so each is
    # read once here, not once per report.
    imported_on = {
        seq: json.loads(entry)["day"]
        for seq, entry in conn.execute(
            "SELECT seq, entry FROM audit WHERE seq IN (SELECT DISTINCT audit_seq FROM reports)"
        )
    }
    rows = conn.execute(
        "SELECT r.receipt, s.state, s.message, s.day, r.audit_seq FROM reports r"
        " LEFT JOIN report_statuses s ON s.report = r.id"
    )
    for receipt, state, message, day, seq in rows:
        if seq not in imported_on:
            continue  # a report no import entry brought (`verify` names it): as the join left it out
        if state is None:
            yield receipt, "received", None, imported_on[seq]
        else:
            yield receipt, state, message, day


def write_status_file(conn: sqlite3.Connection, key: SigningKey, *, analyst: str, day: str | None = None) -> Written:
    """Signs a new status file and records its version; the caller writes `data` out."""
    analyst = analyst_name(analyst)
    day = day or today()
    salt = secrets.token_bytes(SALT_BYTES)
    with transaction(conn):
        (last,) = conn.execute("SELECT coalesce(max(version), 0) FROM status_files").fetchone()
        latest: dict[str, tuple[str, str, str | None]] = {}
        for receipt, state, message, d in public_statuses(conn):
            # Two reports with one code can only come from a broken or hostile server; the code
            # then shows the later of their statuses rather than blocking every status file.
            if receipt not in latest or (d, state) > latest[receipt][:2]:
                latest[receipt] = (d, state, message)
        entries = [
            status_file.Entry(lookup_key(salt, receipt), state, message, datetime.date.fromisoformat(d))
            for receipt, (d, state, message) in latest.items()
        ]
        data = status_file.encode(status_file.StatusFile(last + 1, salt, tuple(entries)), key)
        digest = hashlib.sha256(data).hexdigest()
        conn.execute(
            "INSERT INTO status_files (version, day, entries, sha256) VALUES (?, ?, ?, ?)",
            (last + 1, day, len(entries), digest),
        )
        audit.append(
            conn,
            action="status-file",
            analyst=analyst,
            day=day,
            data={"version": last + 1, "entries": len(entries), "sha256": digest, "key": key.public().encode()},
        )
    return Written(last + 1, len(entries), digest, data)

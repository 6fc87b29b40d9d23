"""`meldpunt case import`: bundles into the case file, each report once, each address once.

Every bundle is read as hostile by the one reader (crypto/staff/bundle.py) and every report
opened by the one envelope (crypto/staff/workers.py, which calls `open_sealed` on every core).
All the bundles named are checked before the case file is touched, so a hostile one changes
nothing. A report already in the case file (same id and same hash: a re-export, or the same
bundle again) is not opened again and adds nothing, but is acknowledged again; one whose id is
known with other bytes is refused, since the server never changes a report.

A bundle's reports are written in one transaction with their audit entry; only once that is
committed (and synced) is the acknowledgement written to DIR/acks/, in the format
`meldpunt purge` reads (crypto/staff/ack.py).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from crypto import age
from crypto.case import attention, audit, digests, floods, shapes
from crypto.case.decisions import analyst_name, today
from crypto.case.errors import CaseError
from crypto.case.normalise import keys_of
from crypto.case.retention import NEXT_ADDRESS_ID
from crypto.case.schema import database_errors, ensure_acks_dir, open_case, transaction
from crypto.envelope import report as report_schema
from crypto.errors import Error
from crypto.staff import folder
from crypto.staff.ack import format_ack
from crypto.staff.bundle import Entry, read_index
from crypto.staff.record import Record
from crypto.staff.workers import open_reports

_QUERY_CHUNK = 500  # ids per look-up: below SQLite's limit on bound parameters
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class Imported:
    bundle: str
    reports: int  # in the bundle
    added: int  # new to the case file
    already: int  # in the case file before
    failures: list[tuple[str, str]]  # (id, reason): not imported, not acknowledged
    ack_path: str | None
    arrivals: attention.Arrivals = attention.Arrivals()  # re-reported addresses, danger reports


def import_bundles(
    case_dir: str,
    bundle_paths: Sequence[str],
    identities: Sequence[age.Identity],
    *,
    analyst: str,
    workers: int | None = None,
    on_start: Callable[[str, int], None] = lambda name, total: None,
    on_progress: Callable[[int], None] = lambda n: None,
) -> list[Imported]:
    analyst = analyst_name(analyst)
    indexes = [(path, _index(path)) for path in bundle_paths]  # refuses before any write
    if not identities:
        raise CaseError("no identity given: nothing could be opened")
    conn = open_case(case_dir, create=True)
    try:
        with database_errors(case_dir):
            return [
                _import_one(conn, case_dir, path, entries, identities, analyst, workers, on_start, on_progress)
                for path, entries in indexes
            ]
    finally:
        conn.close()


def _import_one(
    conn: sqlite3.Connection,
    case_dir: str,
    path: str,
    entries: list[Entry],
    identities: Sequence[age.Identity],
    analyst: str,
    workers: int | None,
    on_start: Callable[[str, int], None],
    on_progress: Callable[[int], None],
) -> Imported:
    known = _known(conn, [e.id for e in entries])
    failures = [
        (e.id, "a different report with this id is already in the case file (altered?)")
        for e in entries
        if e.id in known and known[e.id] != e.sha256
    ]
    already = [e for e in entries if known.get(e.id) == e.sha256]
    fresh = [e for e in entries if e.id not in known]
    on_start(os.path.basename(path), len(fresh))
    records, failed = open_reports(fresh, identities, path, None, workers, on_progress)
    failures += failed
    records.sort(key=lambda r: r.id)  # the workers answer in any order; the case file does not
    name = os.path.basename(path)
    arrivals = attention.Arrivals()
    with transaction(conn):
        # Another import may have committed some of these while they were being opened.
        raced = _known(conn, [r.id for r in records])
        for r in records:
            if r.id in raced and raced[r.id] != r.sha256:
                failures.append((r.id, "a different report with this id is already in the case file (altered?)"))
        already += [Entry(r.id, r.sha256, r.day, 0, 0) for r in records if raced.get(r.id) == r.sha256]
        records = [r for r in records if r.id not in raced]
        known_secrets = _stored_secrets(conn, [e.id for e in already])
        ack = format_ack([(e.id, e.sha256, known_secrets[e.id]) for e in already] + [r.ack_entry() for r in records])
        ack_sha256 = hashlib.sha256(ack).hexdigest()
        if records:
            # The rows first, then their entry, which carries digests of the rows as written.
            seq = audit.next_seq(conn)
            for record in records:
                _add_report(conn, record, seq)
            floods.after_import(conn, seq)
            arrivals = attention.after_import(conn, seq)
            audit.append(
                conn,
                action="import",
                analyst=analyst,
                day=today(),
                seq=seq,
                data={
                    "bundle": name,
                    "ack_sha256": ack_sha256,
                    "added": len(records),
                    "reports_sha256": reports_digest(r.id for r in records),
                    "content": digests.of_import(conn, seq),
                },
            )
        conn.execute(
            "INSERT OR IGNORE INTO bundles (ack_sha256, name, imported_on, reports) VALUES (?, ?, ?, ?)",
            (ack_sha256, name, today(), len(entries)),
        )
    ack_path = None
    if already or records:
        os.sync()  # the committed reports are on disk before the server may delete its copies
        ack_path = os.path.join(ensure_acks_dir(case_dir), f"{_safe(name)}-{ack_sha256[:12]}.ack")
        folder.write_file(os.path.dirname(ack_path), os.path.basename(ack_path), ack)
        os.sync()
    return Imported(name, len(entries), len(records), len(already), sorted(failures), ack_path, arrivals)


def _index(path: str) -> list[Entry]:
    # With several bundles on the command line, the one refused is named.
    try:
        return read_index(path)
    except Error as exc:
        raise CaseError(f"{os.path.basename(path)}: {exc}") from None


def reports_digest(ids) -> str:
    """Names the set of reports one import added, for the audit log and its replay."""
    return hashlib.sha256("\n".join(sorted(ids)).encode("ascii")).hexdigest()


def _known(conn: sqlite3.Connection, ids: list[str]) -> dict[str, str]:
    known: dict[str, str] = {}
    for i in range(0, len(ids), _QUERY_CHUNK):
        chunk = ids[i : i + _QUERY_CHUNK]
        marks = ",".join("?" * len(chunk))
        known.update(conn.execute(f"SELECT id, sha256 FROM reports WHERE id IN ({marks})", chunk).fetchall())
    return known


def _stored_secrets(conn: sqlite3.Connection, ids: list[str]) -> dict[str, str]:
    # The acknowledgement proves decryption with each report's purge secret (crypto/staff/ack.py):
    # a report imported before is acknowledged again with the secret it was opened with.
    found: dict[str, str] = {}
    for i in range(0, len(ids), _QUERY_CHUNK):
        chunk = ids[i : i + _QUERY_CHUNK]
        marks = ",".join("?" * len(chunk))
        for rid, fields in conn.execute(f"SELECT id, fields FROM reports WHERE id IN ({marks})", chunk):
            found[rid] = json.loads(fields).get("purge_secret", "")
    return found


def _add_report(conn: sqlite3.Connection, record: Record, seq: int) -> None:
    report = record.report
    fields = report_schema.as_fields(report)  # the stored answers: the report's JSON object
    day = record.day
    danger = 1 if report.child_in_danger else 0
    conn.execute(
        "INSERT INTO reports (id, sha256, day, receipt, child_in_danger, found_on, kinds, language, fields, audit_seq,"
        " channel, via, campaign, shape) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            record.id,
            record.sha256,
            day,
            report.receipt,
            danger,
            report.found_on,
            ";".join(report.kinds),
            report.language,
            json.dumps(fields, ensure_ascii=True, sort_keys=True, separators=(",", ":")),
            seq,
            # A report older than version 3 has none of the three ("" in the report).
            report.channel,
            report.via,
            report.campaign,
            shapes.shape(fields),
        ),
    )
    named: dict[str, str] = {}
    for url in report.urls:
        named.setdefault(_stored_key(conn, url), url)  # two spellings of one address count once
    for key, url in named.items():
        (aid,) = conn.execute(
            f"INSERT INTO addresses (id, key, url, reports, first_day, last_day, danger) VALUES ({NEXT_ADDRESS_ID},"
            " ?, ?, 1, ?, ?, ?)"
            " ON CONFLICT (key) DO UPDATE SET reports = reports + 1,"
            " url = CASE WHEN excluded.first_day < first_day THEN excluded.url ELSE url END,"
            " first_day = min(first_day, excluded.first_day), last_day = max(last_day, excluded.last_day),"
            " danger = max(danger, excluded.danger) RETURNING id",
            (key, url, day, day, danger),
        ).fetchone()
        conn.execute("INSERT INTO mentions (address, report, original) VALUES (?, ?, ?)", (aid, record.id, url))


def _stored_key(conn: sqlite3.Connection, url: str) -> str:
    """The key of the address this URL names: an address an older meldpunt keyed by its Unicode
    host (crypto/case/normalise.py) keeps collecting reports under that key."""
    keys = keys_of(url)
    if len(keys) > 1 and conn.execute("SELECT 1 FROM addresses WHERE key = ?", (keys[0],)).fetchone() is None:
        for older in keys[1:]:
            if conn.execute("SELECT 1 FROM addresses WHERE key = ?", (older,)).fetchone() is not None:
                return older
    return keys[0]


def _safe(name: str) -> str:
    # The ack's name comes from the bundle's file name, which the staff chose: still, only a
    # plain, short name is used, never a path.
    stem = _UNSAFE.sub("-", name).strip(".-")[:60]
    return stem or "bundle"

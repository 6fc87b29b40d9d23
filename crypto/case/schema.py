"""The case file on disk: DIR (mode 0700) with DIR/case.sqlite3 (0600) and DIR/acks/.

The database holds plaintext reports, so nothing here may widen who can read it: the folder is
created 0700 and refused when others can enter it, the database file is created 0600 before
SQLite opens it (SQLite gives its journal the database file's mode), and `secure_delete`
overwrites what is deleted. Each schema change is one migration, applied in order inside one
transaction and counted in `PRAGMA user_version`, so an older case file is brought forward and a
newer one is refused rather than misread.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
from collections.abc import Iterator
from typing import Any

from crypto import files
from crypto.case import shapes
from crypto.case.errors import CaseError

DATABASE = "case.sqlite3"
ACKS = "acks"

# Statuses in the order an address moves through them; "new" is only ever set by an import.
STATUSES = ("new", "assessed", "notice-sent", "forwarded-police", "forwarded-hotline", "removed", "still-online")


def _fill_tracks(conn: sqlite3.Connection) -> None:
    from crypto.case import tracks  # here: the migration that needs it runs once

    tracks.fill(conn)


# Each step is SQL, or a function given the connection when SQL alone cannot say it.
_MIGRATIONS: tuple[tuple[Any, ...], ...] = (
    (
        # One row per bundle imported (the acknowledgement's hash names it).
        """CREATE TABLE bundles (
            ack_sha256 TEXT PRIMARY KEY, name TEXT NOT NULL, imported_on TEXT NOT NULL,
            reports INTEGER NOT NULL)""",
        # One row per report, whichever bundle brought it first; `fields` is the report's JSON.
        """CREATE TABLE reports (
            id TEXT PRIMARY KEY, sha256 TEXT NOT NULL, day TEXT NOT NULL, receipt TEXT NOT NULL,
            child_in_danger INTEGER NOT NULL, found_on TEXT NOT NULL, kinds TEXT NOT NULL,
            language TEXT NOT NULL, fields TEXT NOT NULL, audit_seq INTEGER NOT NULL)""",
        "CREATE INDEX reports_receipt ON reports (receipt)",
        "CREATE INDEX reports_audit ON reports (audit_seq)",
        # One row per normalised address; `url` is a spelling from its earliest report (mentions has them all).
        """CREATE TABLE addresses (
            id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, url TEXT NOT NULL,
            reports INTEGER NOT NULL, first_day TEXT NOT NULL, last_day TEXT NOT NULL,
            danger INTEGER NOT NULL, status TEXT NOT NULL DEFAULT 'new', status_day TEXT)""",
        "CREATE INDEX addresses_queue ON addresses (status, danger DESC, reports DESC, first_day, id)",
        "CREATE INDEX addresses_queue_all ON addresses (danger DESC, reports DESC, first_day, id)",
        # Which report named which address, with the reporter's own spelling.
        """CREATE TABLE mentions (
            address INTEGER NOT NULL, report TEXT NOT NULL, original TEXT NOT NULL,
            PRIMARY KEY (address, report)) WITHOUT ROWID""",
        "CREATE INDEX mentions_report ON mentions (report)",
        # The current assessment of an address; every earlier one is in the audit log.
        """CREATE TABLE assessments (
            address INTEGER PRIMARY KEY, verdict TEXT NOT NULL, age_group TEXT NOT NULL,
            country TEXT NOT NULL, provider TEXT NOT NULL, note TEXT NOT NULL,
            analyst TEXT NOT NULL, day TEXT NOT NULL)""",
        # The hash-chained log (crypto/case/audit.py); `address` is copied out of the entry to find
        # an address's history, and checked against it by `verify`.
        """CREATE TABLE audit (
            seq INTEGER PRIMARY KEY, address INTEGER, entry TEXT NOT NULL, hash TEXT NOT NULL)""",
        "CREATE INDEX audit_address ON audit (address)",
    ),
    (
        # What a reporter who types their receipt code is told (crypto/case/statuses.py); a report
        # without a row here is "received" since its import.
        """CREATE TABLE report_statuses (
            report TEXT PRIMARY KEY REFERENCES reports (id), state TEXT NOT NULL, message TEXT,
            analyst TEXT NOT NULL, day TEXT NOT NULL)""",
        # Every signed status file written: its version only grows, and the server refuses any
        # version it has seen before.
        """CREATE TABLE status_files (
            version INTEGER PRIMARY KEY, day TEXT NOT NULL, entries INTEGER NOT NULL, sha256 TEXT NOT NULL)""",
    ),
    (
        # No table changes: from this version on, each import's audit entry carries digests of
        # what it wrote (crypto/case/digests.py). The number goes up so that an older meldpunt,
        # which would import without them, refuses the case file instead.
        "SELECT 1",
    ),
    (
        # Nothing new is hidden (crypto/case/attention.py). `fresh`: reports imported since the
        # address's last decision, while it has one (its queue state "re-reported");
        # `unseen_danger`: its reports marked "a child is in immediate danger" that no analyst has
        # looked at yet. Both are kept beside the data they count so the queue's first page comes
        # from an index; `verify` recounts them from the reports and the audit log.
        "ALTER TABLE addresses ADD COLUMN fresh INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE addresses ADD COLUMN unseen_danger INTEGER NOT NULL DEFAULT 0",
        # Which danger report an analyst looked at, and the audit entry saying so.
        """CREATE TABLE looked_at (
            report TEXT PRIMARY KEY REFERENCES reports (id), seq INTEGER NOT NULL)""",
        # A case file from before this version: every danger report counts as not looked at (none
        # was recorded), so each shows at the top of the queue once more until an analyst has.
        """UPDATE addresses SET unseen_danger = (
            SELECT count(*) FROM mentions m JOIN reports r ON r.id = m.report
            WHERE m.address = addresses.id AND r.child_in_danger = 1) WHERE danger = 1""",
        # ... and every address decided on counts the reports imported after its last audit entry
        # (before this version, an address's entries were all decisions: assess and status).
        """UPDATE addresses SET fresh = (
            SELECT count(*) FROM mentions m JOIN reports r ON r.id = m.report
            WHERE m.address = addresses.id
              AND r.audit_seq > (SELECT max(seq) FROM audit WHERE audit.address = addresses.id))
            WHERE status != 'new'""",
        "CREATE INDEX addresses_unseen ON addresses (danger DESC, reports DESC, first_day, id) WHERE unseen_danger > 0",
        "CREATE INDEX addresses_fresh ON addresses (danger DESC, reports DESC, first_day, id) WHERE fresh > 0",
    ),
    (
        # How each report came (report version 3; "" for older reports), copied out of `fields`
        # at import so that `case stats` counts them with one GROUP BY (crypto/case/stats.py).
        "ALTER TABLE reports ADD COLUMN channel TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE reports ADD COLUMN via TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE reports ADD COLUMN campaign TEXT NOT NULL DEFAULT ''",
        """UPDATE reports SET channel = coalesce(json_extract(fields, '$.channel'), ''),
            via = coalesce(json_extract(fields, '$.via'), ''),
            campaign = coalesce(json_extract(fields, '$.campaign'), '')""",
        # The statistics read a period of days from these indexes alone, never from the rows
        # (which hold each report's whole text): reports by the day they arrived with every
        # field they are counted by; addresses by the day they were first reported with their
        # status; status moves in the audit log by their day.
        "CREATE INDEX reports_stats ON reports (day, language, found_on, kinds, channel, via, campaign)",
        "CREATE INDEX addresses_first_day ON addresses (first_day, status, status_day, last_day)",
        "CREATE INDEX audit_moves ON audit (json_extract(entry, '$.action'), json_extract(entry, '$.day'),"
        " json_extract(entry, '$.data.status'), address)",
    ),
    (
        # A flood is one item (crypto/case/floods.py): each report's shape, computed here for the
        # reports already in the case file by the function open_case registers; the floods, groups
        # of at least FLOOD_MIN reports of one shape and day, with their dismissal; and each
        # address's flag saying every report naming it belongs to a flood.
        "ALTER TABLE reports ADD COLUMN shape TEXT",
        "UPDATE reports SET shape = case_report_shape(fields)",
        "CREATE INDEX reports_shape ON reports (day, shape)",
        """CREATE TABLE floods (
            id INTEGER PRIMARY KEY, day TEXT NOT NULL, shape TEXT NOT NULL, reports INTEGER NOT NULL,
            dismissed_seq INTEGER, dismissed_reports INTEGER NOT NULL DEFAULT 0, UNIQUE (day, shape))""",
        "ALTER TABLE addresses ADD COLUMN flooded INTEGER NOT NULL DEFAULT 0",
        """INSERT INTO floods (day, shape, reports)
            SELECT r.day, r.shape, count(DISTINCT r.id) FROM reports r JOIN mentions m ON m.report = r.id
            WHERE r.shape IS NOT NULL GROUP BY r.day, r.shape
            HAVING count(DISTINCT r.id) >= case_flood_min() AND count(DISTINCT m.address) >= case_flood_min()""",
        """UPDATE addresses SET flooded = NOT EXISTS (SELECT 1 FROM mentions m JOIN reports r ON r.id = m.report
            LEFT JOIN floods f ON f.day = r.day AND f.shape = r.shape
            WHERE m.address = addresses.id AND f.id IS NULL)""",
    ),
    (
        # One assessment serves INHOPE, the IWF and NCMEC (crypto/case/classification.py): what the
        # analyst sees, each "" until assessed.
        "ALTER TABLE assessments ADD COLUMN gender TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE assessments ADD COLUMN content_type TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE assessments ADD COLUMN virtual TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE assessments ADD COLUMN site_type TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE assessments ADD COLUMN commercial TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE assessments ADD COLUMN activity TEXT NOT NULL DEFAULT ''",
    ),
    (
        # Tracks side by side (crypto/case/tracks.py): the takedown and the referrals, each with
        # its state, day, reference and note; an older case file's are replayed from its log.
        """CREATE TABLE tracks (
            address INTEGER NOT NULL REFERENCES addresses (id), track TEXT NOT NULL, state TEXT NOT NULL,
            day TEXT NOT NULL, reference TEXT NOT NULL, note TEXT NOT NULL, analyst TEXT NOT NULL,
            PRIMARY KEY (address, track)) WITHOUT ROWID""",
        "CREATE INDEX tracks_state ON tracks (track, state)",
        _fill_tracks,
    ),
    (
        # Retention (crypto/case/retention.py): the days each kind of data is kept, where an
        # analyst set them (a kind without a row keeps its default); each set by an audit entry.
        "CREATE TABLE retention_policy (kind TEXT PRIMARY KEY, days INTEGER NOT NULL, seq INTEGER NOT NULL)",
        # The addresses retention removed, with the entry that did: an import never gives their
        # ids to another address, whose history would otherwise merge with theirs in the log.
        "CREATE TABLE retention_removed (address INTEGER PRIMARY KEY, seq INTEGER NOT NULL)",
    ),
)
VERSION = len(_MIGRATIONS)


def open_case(case_dir: str, *, create: bool = False) -> sqlite3.Connection:
    """The case file's database, migrated to this version; with create, DIR is made if needed."""
    private_dir(case_dir, create=create)
    path = os.path.join(case_dir, DATABASE)
    if not os.path.lexists(path):
        if not create:
            raise CaseError(f"{case_dir} holds no case file (import a bundle into it first)")
        files.create_new(path, b"", error=CaseError)
    st = os.lstat(path)
    if not stat.S_ISREG(st.st_mode):
        raise CaseError(f"{path} is not a regular file (a symbolic link?)")
    if st.st_mode & 0o077:
        raise CaseError(f"{path} is readable by others; `chmod 600 {path}` first")
    try:
        conn = sqlite3.connect(path, isolation_level=None, timeout=30)
        conn.execute("PRAGMA secure_delete = ON")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA synchronous = FULL")
        conn.create_function("case_report_shape", 1, shapes.shape_of_json, deterministic=True)
        conn.create_function("case_flood_min", 0, lambda: shapes.FLOOD_MIN, deterministic=True)
        _migrate(conn, path)
    except sqlite3.DatabaseError as exc:
        raise CaseError(f"{path} cannot be used as a case file: {exc}") from None
    return conn


def ensure_acks_dir(case_dir: str) -> str:
    path = os.path.join(case_dir, ACKS)
    private_dir(path, create=True)
    return path


def private_dir(path: str, *, create: bool) -> None:
    try:
        files.private_dir(path, create=create, error=CaseError)
    except CaseError as exc:
        if not os.path.lexists(path):
            raise CaseError(f"{path} does not exist (import a bundle into it first)") from None
        raise exc from None
    if os.lstat(path).st_mode & 0o077:
        raise CaseError(f"{path} can be entered by others; `chmod 700 {path}` first")


def _migrate(conn: sqlite3.Connection, path: str) -> None:
    current = conn.execute("PRAGMA user_version").fetchone()[0]
    if current > VERSION:
        raise CaseError(f"{path} was written by a newer meldpunt (case file version {current})")
    if current == VERSION:
        return  # nothing to write: a command that only reads leaves the file as it was
    with transaction(conn):
        for version in range(current, VERSION):
            for statement in _MIGRATIONS[version]:
                if callable(statement):
                    statement(conn)
                else:
                    conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {VERSION}")


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any failure: a change is applied whole or not at all."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


@contextlib.contextmanager
def database_errors(case_dir: str) -> Iterator[None]:
    """SQLite's failures while a command runs (locked by another command, a full disk) as one line."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        raise CaseError(
            f"the case file in {case_dir} cannot be used now: {exc} (is another command running?)"
        ) from None
    except sqlite3.DatabaseError as exc:
        raise CaseError(f"the case file in {case_dir} is damaged: {exc}") from None

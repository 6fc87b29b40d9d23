"""What one import wrote to the case file, as digests in its audit entry, and their check.

The audit chain shows that no entry was changed; these digests tie the tables to the entries.
Per report an import added: its stored row (id, hash, day, receipt code, child-in-danger
answer, where found, kinds, language and its answers exactly as stored) and its mentions (each
address it names, with the reporter's own spelling). Per address the import brought first: its
id and key. An address's count, days, danger flag and shown spelling are not recorded, since
every later import may change them: `verify` replays them from the mentions
(crypto/case/replay.py). Every digest is recomputed from the tables in the import's own
transaction, by the same code `verify` runs, so what is recorded is what was written.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from typing import Any

VERSION = 1  # of the "content" an import entry carries; an entry without it predates digests
REPORT_COLUMNS = "id, sha256, day, receipt, child_in_danger, found_on, kinds, language, fields"

# Addresses whose earliest mention comes from this import: the ones it added (ids only grow,
# and nothing but an import writes mentions).
_ADDED = """SELECT a.id, a.key FROM addresses a WHERE a.id IN (
    SELECT m.address FROM mentions m JOIN reports r ON r.id = m.report WHERE r.audit_seq = :seq)
  AND NOT EXISTS (SELECT 1 FROM mentions m JOIN reports r ON r.id = m.report
                  WHERE m.address = a.id AND r.audit_seq < :seq)
ORDER BY a.id"""


def _digest(label: str, value: Any) -> str:
    # A label per kind, so that a report's digest can never stand for an address's.
    text = json.dumps(value, ensure_ascii=True, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(f"meldpunt case {label} v1\n{text}".encode("ascii")).hexdigest()


def report_digest(row: tuple) -> str:
    """Of one row of `SELECT {REPORT_COLUMNS} FROM reports`."""
    return _digest("report", list(row))


def mentions_digest(mentions: list[tuple[int, str]]) -> str:
    """Of one report's (address id, original spelling) pairs, in any order."""
    return _digest("mentions", sorted(mentions))


def address_digest(aid: int, key: str) -> str:
    return _digest("address", [aid, key])


def of_import(conn: sqlite3.Connection, seq: int) -> dict[str, Any]:
    """The digests of what the import with audit sequence number `seq` holds in the tables now."""
    reports = {
        row[0]: report_digest(row)
        for row in conn.execute(f"SELECT {REPORT_COLUMNS} FROM reports WHERE audit_seq = ? ORDER BY id", (seq,))
    }
    named: dict[str, list[tuple[int, str]]] = {rid: [] for rid in reports}
    for rid, aid, original in conn.execute(
        "SELECT m.report, m.address, m.original FROM mentions m JOIN reports r ON r.id = m.report"
        " WHERE r.audit_seq = ?",
        (seq,),
    ):
        named[rid].append((aid, original))
    return {
        "version": VERSION,
        "reports": reports,
        "mentions": {rid: mentions_digest(pairs) for rid, pairs in named.items()},
        "addresses": {str(aid): address_digest(aid, key) for aid, key in conn.execute(_ADDED, {"seq": seq})},
    }


def check(conn: sqlite3.Connection, seq: int, recorded: Any) -> list[str]:
    """What differs between import entry `seq`'s recorded content and the tables, one line each."""
    if not isinstance(recorded, dict) or recorded.get("version") != VERSION:
        return [f"import entry {seq} records its content in a form this meldpunt does not know"]
    now = of_import(conn, seq)
    problems = []
    for kind, what in (
        ("reports", "its stored row (answers, receipt code, child-in-danger answer) is"),
        ("mentions", "the addresses it names (its mentions) are"),
    ):
        want, have = recorded.get(kind) or {}, now[kind]
        for rid in sorted(set(want) | set(have)):
            if want.get(rid) != have.get(rid):
                problems.append(f"report {rid}: {what} not what import entry {seq} recorded")
    want, have = recorded.get("addresses") or {}, now["addresses"]
    for aid in sorted(set(want) | set(have), key=lambda a: int(a) if a.isdigit() else -1):
        if aid not in have:
            problems.append(
                f"address {aid}: import entry {seq} added it, yet none of that import's"
                " reports is the first to name it now (deleted, or its mentions changed)"
            )
        elif aid not in want:
            problems.append(f"address {aid}: import entry {seq} did not add it")
        elif want[aid] != have[aid]:
            problems.append(f"address {aid}: its key is not the one import entry {seq} recorded")
    return problems

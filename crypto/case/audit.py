"""The audit log: every import and every decision, appended to a hash chain in the case file.

Each entry is canonical JSON holding its own sequence number, the day, the analyst, the action
and its data; its hash is SHA-256 over the previous entry's hash and the entry's text, so that
changing, removing or reordering any entry breaks every hash after it. An entry is written in
the same transaction as the change it records: there is never a decision without its entry, or
an entry without its decision.

The chain alone cannot see its newest entries cut off together with their hashes. `verify`
therefore also replays the log against the tables (each address's status and assessment, each
import's reports) and prints the head hash, which a hotline may note on paper.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64


def canonical(entry: dict[str, Any]) -> str:
    # ASCII-only JSON: the stored text, what is hashed, is the same bytes everywhere.
    return json.dumps(entry, ensure_ascii=True, sort_keys=True, separators=(",", ":"))


def chain_hash(previous: str, text: str) -> str:
    return hashlib.sha256(f"{previous}\n{text}".encode("utf-8", "surrogatepass")).hexdigest()


def next_seq(conn: sqlite3.Connection) -> int:
    """The number the next entry gets: rows written before their entry (an import's) carry it."""
    (last,) = conn.execute("SELECT coalesce(max(seq), 0) FROM audit").fetchone()
    return last + 1


def append(
    conn: sqlite3.Connection,
    *,
    action: str,
    analyst: str,
    day: str,
    data: dict[str, Any],
    address: int | None = None,
    seq: int | None = None,
) -> int:
    """Appends one entry inside the caller's transaction; returns its sequence number, which
    must be `seq` when given (the caller's transaction keeps any other entry out meanwhile)."""
    last = conn.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    number, previous = (last[0] + 1, last[1]) if last else (1, GENESIS)
    if seq is not None and seq != number:
        raise ValueError(f"audit entry {number} was to be number {seq}: appended outside a transaction?")
    seq = number
    entry = {"seq": seq, "day": day, "analyst": analyst, "action": action, "data": data}
    if address is not None:
        entry["address"] = address
    text = canonical(entry)
    conn.execute(
        "INSERT INTO audit (seq, address, entry, hash) VALUES (?, ?, ?, ?)",
        (seq, address, text, chain_hash(previous, text)),
    )
    return seq


@dataclass(frozen=True)
class Broken:
    seq: int
    reason: str


def check_chain(conn: sqlite3.Connection) -> tuple[int, str, Broken | None, list[dict[str, Any]]]:
    """(entries, head hash, the first broken entry or None, the entries read up to it)."""
    previous = GENESIS
    expected = 1
    entries: list[dict[str, Any]] = []
    for seq, address, text, stored in conn.execute("SELECT seq, address, entry, hash FROM audit ORDER BY seq"):
        if seq != expected:
            return len(entries), previous, Broken(expected, f"entry {expected} is missing"), entries
        if not isinstance(text, str) or chain_hash(previous, text) != stored:
            broken = Broken(seq, "its hash does not match its text and the entry before it")
            return len(entries), previous, broken, entries
        try:
            entry = json.loads(text)
        except ValueError:
            return len(entries), previous, Broken(seq, "it is not JSON"), entries
        if not isinstance(entry, dict) or entry.get("seq") != seq or entry.get("address") != address:
            return len(entries), previous, Broken(seq, "its number or address differs from its row"), entries
        entries.append(entry)
        previous = stored
        expected += 1
    return len(entries), previous, None, entries

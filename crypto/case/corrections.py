"""Undoing a decision: a new audit entry that puts an address back as it was, never an erased one.

`case undo SEQ` takes back the assessment or status change recorded in audit entry SEQ (or an
earlier undo). The address's state before SEQ is replayed from its own entries, exactly as
`verify` replays them, and written with an "undo" entry that names SEQ and holds the restored
state, so the log still shows the mistake, who took it back and when. Only an address's latest
change can be undone: undoing an older one would silently also take back the ones after it.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from crypto.case import attention, audit, tracks
from crypto.case.decisions import COLUMNS, FIELDS, Changes, analyst_name, today
from crypto.case.errors import InputError
from crypto.case.schema import transaction

CHANGES = ("assess", "status", "undo")  # the entries that change an address's status or assessment


@dataclass(frozen=True)
class State:
    # As the audit log's JSON holds them: a replayed entry's values are whatever it recorded.
    status: str | None
    status_day: str | None
    assessment: dict[str, Any] | None  # FIELDS with analyst and day, as in the assessments table


NEW = State("new", None, None)


def step(state: State, entry: dict[str, Any]) -> State:
    """The state after one entry of CHANGES; the one rule `verify` and `undo` share."""
    data = entry.get("data") or {}
    action = entry.get("action")
    if action == "assess":
        assessment = {**{f: data.get(f, "") for f in FIELDS}, "analyst": entry.get("analyst"), "day": entry.get("day")}
        moved = data.get("status") != state.status
        return State(data.get("status"), entry.get("day") if moved else state.status_day, assessment)
    if action == "status":
        if data.get("status_unchanged"):  # a track's reference or note alone (crypto/case/tracks.py)
            return state
        return State(data.get("status"), entry.get("day"), state.assessment)
    if action == "undo":
        return State(data.get("status"), data.get("status_day"), data.get("assessment"))
    return state


def undo(conn: sqlite3.Connection, seq: int, *, analyst: str, day: str | None = None) -> tuple[int, Changes]:
    """Takes back entry `seq`; returns its address and what changed."""
    analyst = analyst_name(analyst)
    day = day or today()
    with transaction(conn):
        row = conn.execute("SELECT address, entry FROM audit WHERE seq = ?", (seq,)).fetchone()
        if row is None:
            raise InputError(f"there is no audit entry {seq}")
        aid, target = row[0], json.loads(row[1])
        if aid is not None and conn.execute("SELECT 1 FROM addresses WHERE id = ?", (aid,)).fetchone() is None:
            raise InputError(f"address {aid} was removed under the retention policy (`case retention --history`)")
        if aid is None or target.get("action") not in CHANGES:
            raise InputError(f"audit entry {seq} is a {target.get('action')}, not an assessment or status change")
        entries = [
            json.loads(text)
            for (text,) in conn.execute("SELECT entry FROM audit WHERE address = ? ORDER BY seq", (aid,))
        ]
        later = [e["seq"] for e in entries if e["seq"] > seq and e.get("action") in CHANGES]
        if later:
            raise InputError(f"address {aid} was changed again in entry {later[-1]}; undo that one first")
        before = NEW
        for e in entries:
            if e["seq"] < seq:
                before = step(before, e)
        now = step(before, target)
        changes: Changes = {}
        if (now.status, now.status_day) != (before.status, before.status_day):
            changes["status"] = (now.status, before.status)
        for f in FIELDS:
            old, new = ((s.assessment or {}).get(f) for s in (now, before))
            if old != new:
                changes[f] = (old, new)
        _write(conn, aid, before)
        had, restored = tracks.of_address(conn, aid), tracks.before(conn, aid, seq)
        for name in sorted(set(had) | set(restored)):
            if had.get(name) != restored.get(name):
                changes[f"{name} track"] = (_track_text(had.get(name)), _track_text(restored.get(name)))
        tracks.write(conn, aid, restored)
        audit.append(
            conn,
            action="undo",
            analyst=analyst,
            day=day,
            address=aid,
            data={
                "undoes": seq,
                "status": before.status,
                "status_day": before.status_day,
                "assessment": before.assessment,
                "tracks": restored,
                "changed": {k: list(v) for k, v in changes.items()},
            },
        )
        attention.decided(conn, aid)
    return aid, changes


def _track_text(t: dict | None) -> str | None:
    return None if t is None else " ".join(x for x in (t["state"], t["reference"]) if x)


def _write(conn: sqlite3.Connection, aid: int, state: State) -> None:
    conn.execute("UPDATE addresses SET status = ?, status_day = ? WHERE id = ?", (state.status, state.status_day, aid))
    if state.assessment is None:
        conn.execute("DELETE FROM assessments WHERE address = ?", (aid,))
    else:
        a = state.assessment
        conn.execute(
            f"INSERT OR REPLACE INTO assessments (address, {COLUMNS}, analyst, day)"
            f" VALUES (?, {', '.join('?' * len(FIELDS))}, ?, ?)",
            (aid, *(a.get(f, "") for f in FIELDS), a["analyst"], a["day"]),
        )

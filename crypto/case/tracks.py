"""Tracks: an address's takedown and its referrals, side by side, each with its day, reference and note.

Notice-and-takedown with the provider and the referral to the police (or to the partner hotline
of the hosting country) run in parallel: a police case number and a provider's ticket are both
kept, and a referral never replaces the takedown's state. Each status belongs to one track:

    takedown: notice-sent, removed, still-online
    police:   forwarded-police
    hotline:  forwarded-hotline, and the partner's removed or still-online with --track hotline

An address's status (addresses.status) stays the latest decision, for the queue; its tracks are
table `tracks`, one row per track it is on. Every row comes from the audit log: a status entry
records its track with the reference and note it leaves, an undo records the tracks it restores,
and `verify` replays them (`replay`). Status entries written before tracks existed are read with
the track of their status and no reference, which is also how case file version 7 fills the table.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from crypto.case.errors import InputError

TRACKS = {
    "takedown": ("notice-sent", "removed", "still-online"),
    "police": ("forwarded-police",),
    "hotline": ("forwarded-hotline", "removed", "still-online"),
}
_DEFAULT = {
    "notice-sent": "takedown",
    "removed": "takedown",
    "still-online": "takedown",
    "forwarded-police": "police",
    "forwarded-hotline": "hotline",
}
MAX_REFERENCE = 200  # a case number or ticket id, as people copy them

# One track's state: {"state", "day", "reference", "note", "analyst"}.
Track = dict[str, str]


def track_of(status: str | None, track: str | None) -> str | None:
    """The track a status goes on (checked against --track when given); None for "assessed"."""
    if track is not None and track not in TRACKS:
        raise InputError(f"unknown track {track!r}; one of {', '.join(TRACKS)}")
    if status is None:
        if track is None:
            raise InputError("give --set STATUS, or --track with the --reference or --note to change")
        return track
    if track is None:
        return _DEFAULT.get(status)
    if status not in TRACKS[track]:
        raise InputError(f"status {status} is not on the {track} track; that track takes {', '.join(TRACKS[track])}")
    return track


def of_address(conn: sqlite3.Connection, aid: int) -> dict[str, Track]:
    return {
        t: {"state": s, "day": d, "reference": r, "note": n, "analyst": a}
        for t, s, d, r, n, a in conn.execute(
            "SELECT track, state, day, reference, note, analyst FROM tracks WHERE address = ? ORDER BY track", (aid,)
        )
    }


def write(conn: sqlite3.Connection, aid: int, tracks: dict[str, Track]) -> None:
    """Replaces the address's tracks by these (inside the caller's transaction)."""
    conn.execute("DELETE FROM tracks WHERE address = ?", (aid,))
    for name, t in tracks.items():
        conn.execute(
            "INSERT INTO tracks (address, track, state, day, reference, note, analyst) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (aid, name, t["state"], t["day"], t["reference"], t["note"], t["analyst"]),
        )


def step(tracks: dict[str, Track], entry: dict[str, Any], history: dict[int, dict[str, Track]]) -> dict[str, Track]:
    """The address's tracks after one of its audit entries; `history` maps each earlier entry's
    seq to the tracks after it (an undo from before tracks restores those before its target)."""
    data = entry.get("data") or {}
    action = entry.get("action")
    if action == "status":
        name = data["track"] if "track" in data else _DEFAULT.get(str(data.get("status")))
        if name is None:
            return tracks
        old = tracks.get(name) or {}
        state = data.get("status") or old.get("state")
        return {
            **tracks,
            name: {
                "state": state,
                "day": entry.get("day"),
                "reference": data.get("reference", ""),
                "note": data.get("note", ""),
                "analyst": entry.get("analyst"),
            },
        }
    if action == "undo":
        if "tracks" in data:
            return {k: dict(v) for k, v in (data["tracks"] or {}).items()}
        earlier = [s for s in history if s < data.get("undoes", 0)]
        return history[max(earlier)] if earlier else {}
    return tracks


def replay(entries: list[dict[str, Any]]) -> dict[int, dict[str, Track]]:
    """Every address's tracks from the audit log, oldest entry first."""
    now: dict[int, dict[str, Track]] = {}
    history: dict[int, dict[int, dict[str, Track]]] = {}
    for e in entries:
        aid = e.get("address")
        if aid is None or e.get("action") not in ("status", "undo"):
            continue
        mine = history.setdefault(aid, {})
        now[aid] = step(now.get(aid, {}), e, mine)
        mine[e["seq"]] = now[aid]
    return {aid: t for aid, t in now.items() if t}


def before(conn: sqlite3.Connection, aid: int, seq: int) -> dict[str, Track]:
    """The address's tracks before its entry `seq` (for undo)."""
    entries = [
        json.loads(text)
        for (text,) in conn.execute("SELECT entry FROM audit WHERE address = ? AND seq < ? ORDER BY seq", (aid, seq))
    ]
    return replay(entries).get(aid, {})


def fill(conn: sqlite3.Connection) -> None:
    """Case file version 7: the tracks of a case file from before, replayed from its audit log."""
    entries = [
        json.loads(text) for (text,) in conn.execute("SELECT entry FROM audit WHERE address IS NOT NULL ORDER BY seq")
    ]
    for aid, tracks in replay(entries).items():
        write(conn, aid, tracks)


def problem(conn: sqlite3.Connection, entries: list[dict[str, Any]]) -> str | None:
    """For `verify`: the tracks table against the audit log's replay."""
    want = replay(entries)
    have: dict[int, dict[str, Track]] = {}
    for aid, *_ in conn.execute("SELECT DISTINCT address FROM tracks"):
        have[aid] = of_address(conn, aid)
    for aid in sorted(set(want) | set(have)):
        if want.get(aid) != have.get(aid):
            return f"address {aid}: its tracks are not the ones the audit log records"
    return None

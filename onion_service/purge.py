"""Purge: delete from the server exactly the reports the offline machine acknowledged.

A report is deleted only if its id, the SHA-256 of its sealed bytes and the purge secret sealed
inside it all match a line of the acknowledgement (format in crypto/staff/ack.py), so an
acknowledgement can never delete a report the staff did not decrypt: not one that arrived after
the export, not one whose stored bytes differ, not one listed by someone who holds the bundle but
no staff key.
The acknowledgement is checked whole before anything is deleted, and all deletions are one
transaction. Secure deletion is the store's (SQLite: secure_delete and a truncated WAL).
"""

from __future__ import annotations

from dataclasses import dataclass

from crypto.files import read_bounded
from crypto.staff.ack import MAX_ACK_BYTES, AckEntry, AckError, parse_ack
from onion_service.store import Store


@dataclass(frozen=True)
class PurgeResult:
    acknowledged: int  # entries in the acknowledgement
    deleted: int  # reports deleted now
    remaining: int  # reports still on the server


def read_ack(path: str) -> list[AckEntry]:
    return parse_ack(read_bounded(path, MAX_ACK_BYTES, AckError, "the acknowledgement"))


def purge_acknowledged(store: Store, ack_path: str) -> PurgeResult:
    entries = read_ack(ack_path)  # refuses a malformed acknowledgement before any deletion
    deleted = store.purge(entries)
    return PurgeResult(len(entries), deleted, store.count())

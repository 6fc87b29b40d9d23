"""Purge: delete from the server exactly the reports the offline machine acknowledged.

A report is deleted only if both its id and the SHA-256 of its sealed bytes match a line of the
acknowledgement (format in crypto/staff/ack.py), so an acknowledgement can never delete a report the
staff did not open: not one that arrived after the export, not one whose stored bytes differ.
The acknowledgement is checked whole before anything is deleted, and all deletions are one
transaction. Secure deletion is the store's (SQLite: secure_delete and a truncated WAL).
"""

from __future__ import annotations

from dataclasses import dataclass

from crypto.staff.ack import MAX_ACK_BYTES, AckError, parse_ack
from onion_service.store import Store


@dataclass(frozen=True)
class PurgeResult:
    acknowledged: int  # entries in the acknowledgement
    deleted: int  # reports deleted now
    remaining: int  # reports still on the server


def read_ack(path: str) -> list[tuple[bytes, bytes]]:
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_ACK_BYTES + 1)
    except OSError as exc:
        raise AckError(f"cannot read the acknowledgement {path}: {exc.strerror}") from None
    return parse_ack(data)


def purge_acknowledged(store: Store, ack_path: str) -> PurgeResult:
    pairs = read_ack(ack_path)  # refuses a malformed acknowledgement before any deletion
    deleted = store.purge(pairs)
    return PurgeResult(len(pairs), deleted, store.count())

"""A stored report's row: what callers hand in and get back, and the one place where a new
report is checked (size, day, purge hash) and given its random id, for the direct commit and the
writer process alike."""

from __future__ import annotations

import datetime
import hashlib
import secrets
from typing import NamedTuple, Protocol, TypedDict

from onion_service.store.schema import ID_BYTES, MAX_SEALED_BYTES, PURGE_HASH_BYTES, check_bytes

NewRow = tuple[bytes, bytes, datetime.date, "bytes | None"]  # (id, sealed, day, purge_hash)


class ReportRow(TypedDict):
    """A new report as the reports table takes it (one row of a committed batch)."""

    id: bytes
    sealed: bytes
    day: datetime.date
    exported: bool
    purge_hash: bytes | None


class Writes(Protocol):
    """Something that commits a sealed report elsewhere and returns its id once synced."""

    def add(self, sealed: bytes, day: datetime.date, purge_hash: bytes | None = None) -> bytes: ...


class StoredReport(NamedTuple):
    id: bytes
    sealed: bytes
    day: datetime.date

    def digest(self) -> bytes:
        """sha256 of the sealed report: what `Store.purge` matches on, with the id."""
        return hashlib.sha256(self.sealed).digest()


def check_report(sealed: object, day: object, purge_hash: object) -> tuple[bytes, datetime.date, bytes | None]:
    """A new report's parts, checked: sealed bytes within MAX_SEALED_BYTES (a sealed frame is far
    below it), a plain date (a datetime would carry the exact time into the table), and a purge
    hash of PURGE_HASH_BYTES or none."""
    if purge_hash is not None:
        purge_hash = check_bytes(purge_hash, PURGE_HASH_BYTES, "purge_hash")
    if not isinstance(sealed, (bytes, bytearray, memoryview)):
        raise TypeError("sealed must be bytes")
    sealed = bytes(sealed)
    if not 0 < len(sealed) <= MAX_SEALED_BYTES:
        raise ValueError(f"sealed must be 1 to {MAX_SEALED_BYTES} bytes")
    if type(day) is not datetime.date:
        raise TypeError("day must be a datetime.date (not a datetime)")
    return sealed, day, purge_hash


def new_id() -> bytes:
    """A report's id: random, so that ids say nothing of arrival order."""
    return secrets.token_bytes(ID_BYTES)

"""The acknowledgement: which reports the offline machine opened, carried back to the server.

Written by `meldpunt open`, read by `meldpunt purge`; stdlib only so both sides share it. Each
entry names a report by id and SHA-256 of its sealed bytes, and reveals the purge secret sealed
inside it (crypto/envelope/purge_secret.py): the server deletes a report only if all three
match, so an acknowledgement proves that the report was decrypted, not merely that its bundle
was at hand. The format is strict and ends with a line that counts the entries and hashes
everything before it: an acknowledgement cut short on its way (a copy interrupted, a full
medium) is refused whole instead of half-applied.

    meldpunt-ack 2
    <32 hex id> <64 hex sha256 of the sealed report> <64 hex purge secret, or - >
    ...
    end <number of entries> <64 hex sha256 of all the bytes above this line>

"-" stands for a report sealed before reports carried a secret (report version 1): the server
deletes such a report on its id and SHA-256 alone, as it did before.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

from crypto.errors import Error
from crypto.staff.bundle import MAX_REPORTS

HEADER = b"meldpunt-ack 2\n"
_OLD_HEADER = b"meldpunt-ack 1\n"
# 163 bytes a line; an acknowledgement never lists more reports than a bundle may hold.
MAX_ACK_BYTES = len(HEADER) + 163 * MAX_REPORTS + 100

_LINE = re.compile(rb"([0-9a-f]{32}) ([0-9a-f]{64}) ([0-9a-f]{64}|-)")
_END = re.compile(rb"end (0|[1-9][0-9]{0,6}) ([0-9a-f]{64})")

# One parsed entry: 16-byte id, 32-byte SHA-256 of the sealed bytes, 32-byte secret or None.
AckEntry = tuple[bytes, bytes, "bytes | None"]


class AckError(Error):
    """The acknowledgement is malformed, truncated or not one; nothing was deleted."""


def format_ack(entries: Iterable[tuple[str, str, str]]) -> bytes:
    """(hex id, hex sha256, hex purge secret or "") -> the acknowledgement's bytes (sorted, so
    reruns compare equal). The secret is the report's `purge_secret`; "" for a version 1 report."""
    unique = set()
    for entry in entries:
        if len(entry) != 3:
            raise AckError("an acknowledgement entry is (id, sha256, purge secret): the secret proves decryption")
        rid, digest, secret = entry
        unique.add((rid, digest, secret or "-"))
    ordered = sorted(unique)
    ids = [rid for rid, _, _ in ordered]
    if len(set(ids)) != len(ids):
        raise AckError("one report id with two different hashes or secrets cannot be acknowledged")
    body = bytearray(HEADER)
    for rid, digest, secret in ordered:
        line = f"{rid} {digest} {secret}".encode("ascii")
        if not _LINE.fullmatch(line):
            raise AckError("an acknowledgement entry must be a 32-hex id, a 64-hex SHA-256 and a 64-hex secret")
        body += line + b"\n"
    body += b"end %d %s\n" % (len(ordered), hashlib.sha256(body).hexdigest().encode("ascii"))
    return bytes(body)


def parse_ack(data: bytes) -> list[AckEntry]:
    """The acknowledgement's bytes -> (16-byte id, 32-byte sha256, 32-byte secret or None), or AckError."""
    if len(data) > MAX_ACK_BYTES:
        raise AckError(f"not an acknowledgement: larger than the {MAX_ACK_BYTES} bytes one can be")
    if data.startswith(_OLD_HEADER):
        raise AckError(
            "this acknowledgement was written by an older meldpunt, without purge secrets: "
            "update meldpunt on the offline machine and open the bundle again"
        )
    if not data.startswith(HEADER):
        raise AckError("not a meldpunt acknowledgement (it must start with 'meldpunt-ack 2')")
    if not data.endswith(b"\n"):
        raise AckError("the acknowledgement is truncated (it does not end with its 'end' line)")
    lines = data[len(HEADER) : -1].split(b"\n")
    end = _END.fullmatch(lines[-1])
    if end is None:
        raise AckError("the acknowledgement is truncated or altered (its last line is not the 'end' line)")
    body_len = len(data) - len(lines[-1]) - 1
    if hashlib.sha256(data[:body_len]).hexdigest().encode("ascii") != end.group(2):
        raise AckError("the acknowledgement is damaged or altered (its checksum does not match)")
    entries = lines[:-1]
    if int(end.group(1)) != len(entries):
        raise AckError("the acknowledgement is damaged (its entry count does not match)")
    parsed: list[AckEntry] = []
    seen: set[bytes] = set()
    for number, line in enumerate(entries, start=2):
        m = _LINE.fullmatch(line)
        if m is None:
            raise AckError(f"the acknowledgement is malformed at line {number}")
        if m.group(1) in seen:
            raise AckError(f"the acknowledgement lists one report twice (line {number})")
        seen.add(m.group(1))
        secret = None if m.group(3) == b"-" else bytes.fromhex(m.group(3).decode())
        parsed.append((bytes.fromhex(m.group(1).decode()), bytes.fromhex(m.group(2).decode()), secret))
    return parsed

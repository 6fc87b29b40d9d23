"""The acknowledgement: which reports the offline machine opened, carried back to the server.

Written by `meldpunt open`, read by `meldpunt purge`; stdlib only so both sides share it. The
server deletes exactly the (id, SHA-256) pairs it lists, so the format is strict and ends with
a line that counts the entries and hashes everything before it: an acknowledgement cut short
on its way (a copy interrupted, a full medium) is refused whole instead of half-applied.

    meldpunt-ack 1
    <32 hex id> <64 hex sha256 of the sealed report>
    ...
    end <number of entries> <64 hex sha256 of all the bytes above this line>
"""

from __future__ import annotations

import hashlib
import re
from typing import Iterable

from crypto.errors import Error
from crypto.staff.bundle import MAX_REPORTS

HEADER = b"meldpunt-ack 1\n"
# 98 bytes a line; an acknowledgement never lists more reports than a bundle may hold.
MAX_ACK_BYTES = len(HEADER) + 98 * MAX_REPORTS + 100

_LINE = re.compile(rb"([0-9a-f]{32}) ([0-9a-f]{64})")
_END = re.compile(rb"end (0|[1-9][0-9]{0,6}) ([0-9a-f]{64})")


class AckError(Error):
    """The acknowledgement is malformed, truncated or not one; nothing was deleted."""


def format_ack(pairs: Iterable[tuple[str, str]]) -> bytes:
    """(hex id, hex sha256) pairs -> the acknowledgement's bytes (sorted, so reruns compare equal)."""
    unique = sorted(set(pairs))
    ids = [rid for rid, _ in unique]
    if len(set(ids)) != len(ids):
        raise AckError("one report id with two different hashes cannot be acknowledged")
    body = bytearray(HEADER)
    for rid, digest in unique:
        line = f"{rid} {digest}".encode("ascii")
        if not _LINE.fullmatch(line):
            raise AckError("an acknowledgement entry must be a 32-hex id and a 64-hex SHA-256")
        body += line + b"\n"
    body += b"end %d %s\n" % (len(unique), hashlib.sha256(body).hexdigest().encode("ascii"))
    return bytes(body)


def parse_ack(data: bytes) -> list[tuple[bytes, bytes]]:
    """The acknowledgement's bytes -> (16-byte id, 32-byte sha256) pairs, or AckError."""
    if len(data) > MAX_ACK_BYTES:
        raise AckError(f"not an acknowledgement: larger than the {MAX_ACK_BYTES} bytes one can be")
    if not data.startswith(HEADER):
        raise AckError("not a meldpunt acknowledgement (it must start with 'meldpunt-ack 1')")
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
    pairs: list[tuple[bytes, bytes]] = []
    seen: set[bytes] = set()
    for number, line in enumerate(entries, start=2):
        m = _LINE.fullmatch(line)
        if m is None:
            raise AckError(f"the acknowledgement is malformed at line {number}")
        if m.group(1) in seen:
            raise AckError(f"the acknowledgement lists one report twice (line {number})")
        seen.add(m.group(1))
        pairs.append((bytes.fromhex(m.group(1).decode()), bytes.fromhex(m.group(2).decode())))
    return pairs

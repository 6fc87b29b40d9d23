"""The status file: one signed, strict text format, written offline and read on the server.

    meldpunt-status-file v1
    key meldpunt-status1…          the public key that signs it
    version 12                     only grows (kept in the case file)
    salt <64 hex>                  this file's lookup salt (crypto/status/lookup.py)
    count 2
    <64 hex lookup key> <state> <message or -> <YYYY-MM-DD>
    …                              one line per report, in ascending key order
    signature <128 hex>

The signature is Ed25519 over a context label and every byte before the signature line, so a
file cut short, with a changed byte, or put together from two files does not verify. It is
checked before any entry is parsed: the parser only ever reads bytes the staff key signed. A
signed file must still be exactly what `encode` writes (one spelling per value, keys sorted and
unique, the count matching), so that two different files never mean the same thing.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

from crypto.status.errors import SignatureError, StatusFileError
from crypto.status.keys import SigningKey, VerifyKey
from crypto.status.lookup import KEY_BYTES, SALT_BYTES
from crypto.status.states import MESSAGES, STATES

MAGIC = "meldpunt-status-file v1"
_CONTEXT = b"meldpunt status file signature v1\x00"
# A decade of a busy hotline's reports through the form; the server holds the whole file in
# memory while it checks it, so the bound is also the most memory an import may take (~60 MB).
MAX_ENTRIES = 500_000
_MAX_LINE = 2 * KEY_BYTES + 1 + 32 + 1 + 32 + 1 + 10 + 1
_MAX_HEADER = 4096
MAX_FILE_BYTES = _MAX_HEADER + MAX_ENTRIES * _MAX_LINE
_SIGNATURE_LINE = re.compile(rb"signature ([0-9a-f]{128})\n")
_ENTRY = re.compile(r"([0-9a-f]{64}) ([a-z][a-z-]{0,31}) ([a-z][a-z-]{0,31}|-) (\d{4}-\d{2}-\d{2})")
_NUMBER = re.compile(r"0|[1-9][0-9]{0,17}")
_KEY_LINE = re.compile(rb"key (meldpunt-status1[02-9ac-hj-np-z]{6,100})")


@dataclass(frozen=True)
class Entry:
    key: bytes  # the lookup key of one report's receipt code
    state: str
    message: str | None
    day: datetime.date  # the day the state was set


@dataclass(frozen=True)
class StatusFile:
    version: int
    salt: bytes
    entries: tuple[Entry, ...]  # sorted by key, each key once


def encode(status: StatusFile, key: SigningKey) -> bytes:
    """The signed file; refuses what `decode` would refuse, so nothing unreadable is written."""
    entries = sorted(status.entries, key=lambda e: e.key)
    if len(entries) > MAX_ENTRIES:
        raise StatusFileError(f"more than {MAX_ENTRIES} reports in one status file")
    if status.version < 1 or not _NUMBER.fullmatch(str(status.version)):
        raise StatusFileError("the version is a positive number")
    if len(status.salt) != SALT_BYTES:
        raise StatusFileError(f"the salt is {SALT_BYTES} bytes")
    lines = [
        MAGIC,
        f"key {key.public().encode()}",
        f"version {status.version}",
        f"salt {status.salt.hex()}",
        f"count {len(entries)}",
    ]
    previous = b""
    for e in entries:
        if len(e.key) != KEY_BYTES or e.key <= previous:
            raise StatusFileError("the lookup keys must be distinct and of their size")
        if e.state not in STATES or (e.message is not None and e.message not in MESSAGES):
            raise StatusFileError(f"unknown state or message in an entry ({e.state}, {e.message})")
        lines.append(f"{e.key.hex()} {e.state} {e.message or '-'} {e.day.isoformat()}")
        previous = e.key
    body = ("\n".join(lines) + "\n").encode("ascii")
    return body + b"signature " + key.sign(_CONTEXT + body).hex().encode("ascii") + b"\n"


def verify(data: bytes, key: VerifyKey) -> bytes:
    """The signed body of `data` if `key` signed it; SignatureError or StatusFileError otherwise."""
    if len(data) > MAX_FILE_BYTES:
        raise StatusFileError(f"the status file is larger than {MAX_FILE_BYTES} bytes")
    cut = data.rfind(b"\nsignature ")
    if cut < 0:
        raise StatusFileError("the status file has no signature line: it is cut off or not a status file")
    body, last = data[: cut + 1], data[cut + 1 :]
    match = _SIGNATURE_LINE.fullmatch(last)
    if match is None:
        raise StatusFileError("the status file's signature line is damaged or cut off")
    signer = _signer(body)
    if signer != key.encode():
        raise SignatureError(
            f"the status file is signed with another key ({signer or 'none named'}), not the one in [status] public_key"
        )
    if not key.verify(bytes.fromhex(match.group(1).decode()), _CONTEXT + body):
        raise SignatureError(
            "the status file's signature does not match its contents: it was changed or damaged after it was signed"
        )
    return body


def decode(data: bytes, key: VerifyKey) -> StatusFile:
    """The status file in `data`, checked against `key` before anything else is read."""
    try:
        body = verify(data, key).decode("ascii")
    except UnicodeDecodeError:
        raise StatusFileError("the status file holds bytes that are not ASCII") from None
    lines = body.split("\n")[:-1]
    if len(lines) < 5 or lines[0] != MAGIC:
        raise StatusFileError("not a status file of this version")
    version = _field(lines[2], "version")
    salt_hex = lines[3].removeprefix("salt ")
    if not re.fullmatch(r"[0-9a-f]{64}", salt_hex) or not lines[3].startswith("salt "):
        raise StatusFileError("the status file's salt line is malformed")
    count = _field(lines[4], "count")
    rows = lines[5:]
    if count > MAX_ENTRIES or count != len(rows):
        raise StatusFileError(f"the status file announces {count} entries and holds {len(rows)}")
    entries, previous = [], b""
    for n, row in enumerate(rows, start=1):
        m = _ENTRY.fullmatch(row)
        if m is None:
            raise StatusFileError(f"entry {n} of the status file is malformed")
        k = bytes.fromhex(m.group(1))
        if k <= previous:
            raise StatusFileError(f"entry {n} of the status file is out of order or repeated")
        state, message = m.group(2), None if m.group(3) == "-" else m.group(3)
        if state not in STATES or (message is not None and message not in MESSAGES):
            raise StatusFileError(f"entry {n} of the status file has an unknown state or message")
        try:
            day = datetime.date.fromisoformat(m.group(4))
        except ValueError:
            raise StatusFileError(f"entry {n} of the status file has an impossible day") from None
        entries.append(Entry(k, state, message, day))
        previous = k
    if version < 1:
        raise StatusFileError("the status file's version is not a positive number")
    return StatusFile(version, bytes.fromhex(salt_hex), tuple(entries))


def _signer(body: bytes) -> str | None:
    # The key line only picks the message: the signature is checked against the configured key.
    second = body.split(b"\n", 2)[1:2]
    m = _KEY_LINE.fullmatch(second[0]) if second else None
    return m.group(1).decode("ascii") if m else None


def _field(line: str, name: str) -> int:
    value = line.removeprefix(name + " ")
    if not line.startswith(name + " ") or not _NUMBER.fullmatch(value):
        raise StatusFileError(f"the status file's {name} line is malformed")
    return int(value)

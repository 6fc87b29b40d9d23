"""The export bundle: one uncompressed POSIX ustar file of sealed reports and a manifest.

The server writes it (onion_service/export.py); the offline machine reads it here. The bundle
comes from an internet-facing machine, so the reader treats it as hostile: it accepts only the
subset the writer produces (ustar headers, regular files, the fixed names `manifest.json` and
`reports/<32 hex>.age`), never uses a member's name as a path, and bounds every size and count
before it reads. It indexes the members by offset so that 100,000 reports never sit in memory
at once; `read_sealed` fetches one report's bytes when a worker needs them.

Manifest (`manifest.json`, UTF-8 JSON, nothing in it but what the staff need to check the files):
    {"bundle": "meldpunt", "version": 1,
     "reports": [{"id": "<32 hex>", "sha256": "<64 hex>", "day": "YYYY-MM-DD"}, ...]}
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import re
import stat
from dataclasses import dataclass
from typing import BinaryIO

from crypto.envelope.sealing import MAX_SEALED_BYTES
from crypto.errors import Error

BLOCK = 512

# Bounds, each with its reason.
# A server under any sane per-minute budget collects far fewer than a million reports between
# two exports; the index of a million entries stays around 200 MB on the staff machine.
MAX_REPORTS = 1_000_000
# A member holds one sealed report, so it is held to the envelope's MAX_SEALED_BYTES.
# One manifest entry is about 125 bytes of JSON; 160 per entry plus slack for the envelope.
MAX_MANIFEST_BYTES = 160 * MAX_REPORTS + 4096

MANIFEST_NAME = "manifest.json"
_REPORT_NAME = re.compile(r"reports/([0-9a-f]{32})\.age")
_HEX32 = re.compile(r"[0-9a-f]{32}")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

# Type flags a tar may carry, named so that a refusal says what was found.
_TYPE_NAMES = {
    b"1": "a hard link",
    b"2": "a symbolic link",
    b"3": "a character device",
    b"4": "a block device",
    b"5": "a directory",
    b"6": "a FIFO",
    b"7": "a contiguous file",
    b"x": "a pax extended header",
    b"g": "a pax global header",
    b"L": "a GNU long name",
    b"K": "a GNU long link name",
    b"S": "a GNU sparse file",
}


class BundleError(Error):
    """The bundle is malformed, damaged or hostile; nothing from it was written."""


@dataclass(frozen=True)
class Entry:
    """One report of a bundle: what the manifest says of it and where its bytes are."""

    id: str  # 32 lowercase hex
    sha256: str  # 64 lowercase hex, of the sealed bytes
    day: str  # ISO day the server received it
    offset: int  # of the sealed bytes in the bundle file
    size: int


# ---------------------------------------------------------------------------------------------
# Writing (server side; stdlib only so both sides share one definition of the format)


def _octal(value: int, width: int) -> bytes:
    return b"%0*o\0" % (width - 1, value)


def _header(name: str, size: int) -> bytes:
    # Nothing identifying: mode 0600, uid/gid 0, empty owner names, mtime 0.
    h = bytearray(BLOCK)
    raw = name.encode("ascii")
    h[0 : len(raw)] = raw
    h[100:108] = _octal(0o600, 8)
    h[108:116] = _octal(0, 8)
    h[116:124] = _octal(0, 8)
    h[124:136] = _octal(size, 12)
    h[136:148] = _octal(0, 12)
    h[148:156] = b" " * 8
    h[156:157] = b"0"
    h[257:263] = b"ustar\0"
    h[263:265] = b"00"
    h[148:156] = b"%06o\0 " % sum(h)
    return bytes(h)


def _padding(size: int) -> bytes:
    return b"\0" * (-size % BLOCK)


class BundleWriter:
    """Streams reports into `out`, then the manifest and the end-of-archive marker."""

    def __init__(self, out: BinaryIO) -> None:
        self._out = out
        self._entries: list[dict[str, str]] = []
        self._seen: set[str] = set()

    def add(self, report_id: bytes, sealed: bytes, day: datetime.date) -> str:
        """Writes one sealed report; returns the hex SHA-256 that goes into the manifest."""
        hid = report_id.hex()
        if not _HEX32.fullmatch(hid) or hid in self._seen:
            raise BundleError("a report id must be 16 bytes and unique in a bundle")
        if len(sealed) > MAX_SEALED_BYTES or len(self._entries) >= MAX_REPORTS:
            raise BundleError("the bundle would exceed the limits the offline reader accepts")
        digest = hashlib.sha256(sealed).hexdigest()
        self._out.write(_header(f"reports/{hid}.age", len(sealed)))
        self._out.write(sealed)
        self._out.write(_padding(len(sealed)))
        self._seen.add(hid)
        self._entries.append({"id": hid, "sha256": digest, "day": day.isoformat()})
        return digest

    def finish(self) -> int:
        """Writes the manifest and the end marker; returns the number of reports."""
        manifest = json.dumps(
            {"bundle": "meldpunt", "version": 1, "reports": self._entries},
            separators=(",", ":"),
        ).encode("ascii")
        self._out.write(_header(MANIFEST_NAME, len(manifest)))
        self._out.write(manifest)
        self._out.write(_padding(len(manifest)))
        self._out.write(b"\0" * (2 * BLOCK))
        return len(self._entries)


# ---------------------------------------------------------------------------------------------
# Reading (offline side)


def _shown(raw: bytes) -> str:
    # A hostile name goes into an error message: printable ASCII only, and short.
    text = raw.split(b"\0", 1)[0][:80].decode("ascii", "backslashreplace")
    return "".join(c if c.isprintable() and c.isascii() else "?" for c in text)


def _parse_octal(field: bytes, what: str) -> int:
    digits = field.rstrip(b"\0 ")
    if not digits or not re.fullmatch(rb"[0-7]+", digits) or b"\0" in digits:
        raise BundleError(f"malformed tar header: bad {what} field")
    return int(digits, 8)


def _parse_header(h: bytes, at: int) -> tuple[str, int]:
    """Returns (name, size) of a regular-file member, or refuses."""
    stored = _parse_octal(h[148:156], "checksum")
    if stored != sum(h[:148]) + 32 * 8 + sum(h[156:]):
        raise BundleError(f"malformed tar header at byte {at}: checksum mismatch (damaged bundle)")
    if h[257:263] != b"ustar\0" or h[263:265] != b"00":
        raise BundleError(f"not a meldpunt bundle: the tar header at byte {at} is not POSIX ustar")
    raw_name = h[0:100]
    kind = h[156:157]
    if kind in _TYPE_NAMES:
        raise BundleError(f"refused member {_shown(raw_name)!r}: it is {_TYPE_NAMES[kind]}")
    if kind not in (b"0", b"\0"):
        raise BundleError(f"refused member {_shown(raw_name)!r}: unknown tar type")
    if any(h[345:500]):
        raise BundleError(f"refused member with a name prefix {_shown(h[345:500])!r}")
    if h[157:257].strip(b"\0"):
        raise BundleError(f"refused member {_shown(raw_name)!r}: a regular file with a link name")
    name_bytes = raw_name.split(b"\0", 1)[0]
    if any(raw_name[len(name_bytes) :]):
        raise BundleError(f"refused member {_shown(raw_name)!r}: bytes after the name's end")
    try:
        name = name_bytes.decode("ascii")
    except UnicodeDecodeError:
        raise BundleError(f"refused member {_shown(raw_name)!r}: not an ASCII name") from None
    if name != MANIFEST_NAME and not _REPORT_NAME.fullmatch(name):
        # This is where `..`, absolute paths and every other name end: only two shapes pass.
        raise BundleError(f"refused member {_shown(raw_name)!r}: not a name a meldpunt bundle uses")
    return name, _parse_octal(h[124:136], "size")


def _scan(f: BinaryIO, file_size: int) -> tuple[tuple[int, int] | None, dict[str, tuple[int, int]]]:
    """Walks the headers; returns the manifest's and each report's (offset, size)."""
    manifest: tuple[int, int] | None = None
    reports: dict[str, tuple[int, int]] = {}
    pos = 0
    while True:
        f.seek(pos)
        h = f.read(BLOCK)
        if len(h) < BLOCK:
            raise BundleError("the bundle is truncated: it ends without the end-of-archive marker")
        if not any(h):
            # End of archive. Whatever follows must be zeros too (GNU tar pads to a record).
            rest = f.read(1 << 20)
            while rest:
                if any(rest):
                    raise BundleError("the bundle has data after its end-of-archive marker")
                rest = f.read(1 << 20)
            return manifest, reports
        name, size = _parse_header(h, pos)
        data_at = pos + BLOCK
        if name == MANIFEST_NAME:
            if manifest is not None:
                raise BundleError("the bundle holds two manifests")
            if size > MAX_MANIFEST_BYTES:
                raise BundleError(f"the manifest is {size} bytes, more than the {MAX_MANIFEST_BYTES} a bundle may have")
            manifest = (data_at, size)
        else:
            rid = name[len("reports/") : -len(".age")]
            if rid in reports:
                raise BundleError(f"the bundle holds report {rid} twice (duplicate id)")
            if size > MAX_SEALED_BYTES:
                raise BundleError(
                    f"report {rid} is {size} bytes, more than the {MAX_SEALED_BYTES} a sealed report may have"
                )
            if len(reports) >= MAX_REPORTS:
                raise BundleError(f"the bundle holds more than {MAX_REPORTS} reports")
            reports[rid] = (data_at, size)
        # Checked after the size bounds, so that an absurd size is named as such.
        if data_at + size + (-size % BLOCK) > file_size:
            raise BundleError(f"the bundle is truncated: member {name!r} runs past the end of the file")
        # The writer pads with zeros; anything else there is damage (or a hiding place).
        f.seek(data_at + size)
        if any(f.read(-size % BLOCK)):
            raise BundleError(f"the bundle is damaged: non-zero padding after member {name!r}")
        pos = data_at + size + (-size % BLOCK)


def _refuse_duplicate_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise BundleError("the manifest is malformed: a JSON object repeats a key")
    return dict(pairs)


def _parse_manifest(data: bytes) -> list[tuple[str, str, str]]:
    try:
        doc = json.loads(data.decode("utf-8"), object_pairs_hook=_refuse_duplicate_keys)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise BundleError("the manifest is not valid JSON") from None
    if not isinstance(doc, dict) or set(doc) != {"bundle", "version", "reports"}:
        raise BundleError("the manifest is malformed: unexpected top-level keys")
    if doc["bundle"] != "meldpunt" or doc["version"] != 1 or isinstance(doc["version"], bool):
        raise BundleError("the manifest is not a version 1 meldpunt manifest")
    items = doc["reports"]
    if not isinstance(items, list) or len(items) > MAX_REPORTS:
        raise BundleError("the manifest is malformed: 'reports' is not a list of bounded length")
    out: list[tuple[str, str, str]] = []
    seen: set[str] = set()
    for item in items:
        if not isinstance(item, dict) or set(item) != {"id", "sha256", "day"}:
            raise BundleError("the manifest is malformed: an entry does not have exactly id, sha256, day")
        rid, digest, day = item["id"], item["sha256"], item["day"]
        if not (isinstance(rid, str) and _HEX32.fullmatch(rid)):
            raise BundleError("the manifest is malformed: an id is not 32 lowercase hex digits")
        if not (isinstance(digest, str) and _HEX64.fullmatch(digest)):
            raise BundleError(f"the manifest is malformed: the SHA-256 of report {rid} is not 64 hex digits")
        if not (isinstance(day, str) and _DAY.fullmatch(day)):
            raise BundleError(f"the manifest is malformed: the day of report {rid} is not YYYY-MM-DD")
        try:
            datetime.date.fromisoformat(day)
        except ValueError:
            raise BundleError(f"the manifest is malformed: the day of report {rid} is not a date") from None
        if rid in seen:
            raise BundleError(f"the manifest lists report {rid} twice (duplicate id)")
        seen.add(rid)
        out.append((rid, digest, day))
    return out


def read_index(path: str | os.PathLike[str]) -> list[Entry]:
    """Checks a bundle's structure and its manifest against its files; returns the entries.

    Raises BundleError for anything but a well-formed bundle whose manifest and files name
    exactly the same reports. The sealed bytes are not hashed here (the workers do, as they
    read them), so a damaged report fails on its own without refusing the rest.
    """
    try:
        f = open(path, "rb")
    except OSError as exc:
        raise BundleError(f"cannot read the bundle: {exc.strerror}") from None
    with f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise BundleError("the bundle is not a regular file")
        manifest_at, reports = _scan(f, st.st_size)
        if manifest_at is None:
            raise BundleError("the bundle has no manifest (truncated, or not a meldpunt bundle)")
        f.seek(manifest_at[0])
        listed = _parse_manifest(f.read(manifest_at[1]))
    names = {rid for rid, _, _ in listed}
    missing = names - reports.keys()
    extra = reports.keys() - names
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"{len(missing)} listed report(s) have no file (e.g. {min(missing)})")
        if extra:
            parts.append(f"{len(extra)} file(s) are not in the manifest (e.g. {min(extra)})")
        raise BundleError("the manifest does not match the bundle's files: " + "; ".join(parts))
    return [Entry(rid, digest, day, *reports[rid]) for rid, digest, day in listed]


def read_sealed(fd: int, entry: Entry) -> bytes:
    """Reads one report's sealed bytes from an open bundle file descriptor."""
    data = os.pread(fd, entry.size, entry.offset)
    if len(data) != entry.size:
        raise BundleError(f"report {entry.id}: the bundle changed or shrank while it was read")
    return data

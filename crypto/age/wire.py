"""The age v1 header: stanzas, strict parsing, serialising and the header MAC.

    age-encryption.org/v1
    -> TYPE ARG...
    BODY (base64, wrapped at 64 columns, ending with a line shorter than 64)
    --- MAC

Parsing is strict (canonical base64, LF only, no empty arguments) so that there is exactly one
byte string for each header: the MAC can then be checked over the bytes as received.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from crypto.age.errors import HeaderError, HeaderMACError

VERSION_LINE = b"age-encryption.org/v1\n"
_VERSION_PREFIX = b"age-encryption.org/"
_STANZA_PREFIX = b"-> "
_MAC_PREFIX = b"---"
_COLUMNS = 64
_B64_CHARS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_VCHARS = bytes(range(0x21, 0x7F))

# Bounds on untrusted input, each with its reason:
# A post-quantum stanza is ~1.6 KB and a file has a handful of recipients; 1 MiB of header is
# far past any real file and keeps a hostile one from making us parse without end.
MAX_HEADER_BYTES = 1 << 20
# Each stanza can cost an ML-KEM decapsulation per identity; 256 bounds that work for a crafted
# file while leaving room for far more recipients than any real file has.
MAX_STANZAS = 256
# The longest real line is a post-quantum stanza's argument line (~1,510 bytes).
MAX_LINE_BYTES = 4096
# The type and arguments of one stanza; native types use two or three.
MAX_ARGS = 32


@dataclass(frozen=True)
class Stanza:
    type: str
    args: tuple[str, ...]
    body: bytes

    def encode(self) -> bytes:
        line = " ".join((self.type, *self.args)).encode("ascii")
        body = b64encode(self.body).encode("ascii")
        lines = [body[i : i + _COLUMNS] for i in range(0, len(body), _COLUMNS)]
        if len(body) % _COLUMNS == 0:
            lines.append(b"")  # the body must end with a short line, which may be empty
        return _STANZA_PREFIX + line + b"\n" + b"\n".join(lines) + b"\n"


@dataclass(frozen=True)
class Header:
    stanzas: tuple[Stanza, ...]
    mac: bytes
    mac_input: bytes  # the header up to and including "---", as the MAC covers it


def b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii").rstrip("=")


def b64decode(text: str | bytes) -> bytes:
    """Decodes canonical unpadded base64; raises ValueError on anything else."""
    raw = text.encode("ascii", "strict") if isinstance(text, str) else bytes(text)
    if not _only(raw, _B64_CHARS) or len(raw) % 4 == 1:
        raise ValueError("not unpadded base64")
    try:
        data = base64.b64decode(raw + b"=" * (-len(raw) % 4), validate=True)
    except binascii.Error:
        raise ValueError("not base64") from None
    if base64.b64encode(data).rstrip(b"=") != raw:
        raise ValueError("non-canonical base64")  # unused trailing bits set
    return data


def hkdf(ikm: bytes, salt: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(ikm)


def compute_mac(file_key: bytes, mac_input: bytes) -> bytes:
    key = hkdf(file_key, b"", b"header")
    return hmac.new(key, mac_input, hashlib.sha256).digest()


def verify_mac(header: Header, file_key: bytes) -> None:
    if not hmac.compare_digest(compute_mac(file_key, header.mac_input), header.mac):
        raise HeaderMACError("the header MAC does not match: the file was altered")


def encode_header(stanzas: list[Stanza], file_key: bytes) -> bytes:
    without_mac = VERSION_LINE + b"".join(s.encode() for s in stanzas) + _MAC_PREFIX
    mac = compute_mac(file_key, without_mac)
    return without_mac + b" " + b64encode(mac).encode("ascii") + b"\n"


def _only(data: bytes, chars: bytes) -> bool:
    # bytes.translate deletes the allowed characters in C; anything left is not allowed.
    return not data.translate(None, chars)


def _is_argument(arg: bytes) -> bool:
    return bool(arg) and _only(arg, _VCHARS)


def parse_header(data: bytes) -> tuple[Header, int]:
    """Parses the header at the start of `data`; returns it and the offset of the payload."""
    if not data:
        raise HeaderError("the input is empty, not an age file")
    lines = _Lines(data)
    version = lines.next()
    if version != VERSION_LINE:
        if version.startswith(_VERSION_PREFIX):
            raise HeaderError("unsupported age format version")
        raise HeaderError("not an age file (no age-encryption.org/v1 line)")
    stanzas: list[Stanza] = []
    while True:
        line = lines.next()
        if line.startswith(_MAC_PREFIX):
            break
        if not line.startswith(_STANZA_PREFIX):
            raise HeaderError("malformed header line (expected a stanza or the MAC)")
        if len(stanzas) == MAX_STANZAS:
            raise HeaderError(f"more than {MAX_STANZAS} recipient stanzas")
        args = line[len(_STANZA_PREFIX) : -1].split(b" ")
        if len(args) > MAX_ARGS or not all(_is_argument(a) for a in args):
            raise HeaderError("malformed stanza arguments")
        body = bytearray()
        while True:
            body_line = lines.next()[:-1]
            if len(body_line) > _COLUMNS or not _only(body_line, _B64_CHARS):
                raise HeaderError("malformed stanza body")
            body += body_line
            if len(body_line) < _COLUMNS:
                break
        try:
            decoded = b64decode(bytes(body))
        except ValueError:
            raise HeaderError("stanza body is not canonical base64") from None
        text_args = tuple(a.decode("ascii") for a in args)
        stanzas.append(Stanza(text_args[0], text_args[1:], decoded))
    if not stanzas:
        raise HeaderError("the header has no recipient stanzas")
    if not line.startswith(b"--- ") or len(line) != 4 + 43 + 1:
        raise HeaderError("malformed header MAC line")
    try:
        mac = b64decode(line[4:-1])
    except ValueError:
        raise HeaderError("header MAC is not canonical base64") from None
    end = lines.offset
    mac_input = data[: end - len(line) + len(_MAC_PREFIX)]
    return Header(tuple(stanzas), mac, mac_input), end


class _Lines:
    """Yields LF-terminated lines of the header, within the bounds above."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self.offset = 0

    def next(self) -> bytes:
        start = self.offset
        limit = min(len(self._data), start + MAX_LINE_BYTES, MAX_HEADER_BYTES)
        end = self._data.find(b"\n", start, limit)
        if end < 0:
            if limit == len(self._data):
                raise HeaderError("the header is truncated")
            raise HeaderError("header line or header too long")
        self.offset = end + 1
        return self._data[start : end + 1]

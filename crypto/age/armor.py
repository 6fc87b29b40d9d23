"""ASCII armor: strict PEM (RFC 7468) with the label "AGE ENCRYPTED FILE".

Armor is malleable unless parsed strictly, so only one spelling is accepted: 64-column lines of
canonical, padded base64 with a non-empty last line, LF or CRLF endings, and nothing around the
block but whitespace.
"""

from __future__ import annotations

import base64
import binascii

from crypto.age.errors import ArmorError

BEGIN = b"-----BEGIN AGE ENCRYPTED FILE-----"
END = b"-----END AGE ENCRYPTED FILE-----"
_COLUMNS = 64
_WHITESPACE = b" \t\r\n"
# How far into the input we look for a PEM marker: leading whitespace or a stray line before
# the block is short; a binary file is recognised by its first bytes anyway.
_SNIFF_BYTES = 1024


def is_armored(data: bytes) -> bool:
    """True when `data` is not a binary age file but looks like PEM (has a "-----" marker near
    its start). Such input is then parsed strictly, so a damaged armor gets an ArmorError
    rather than a misleading "not an age file"."""
    return not data.startswith(b"age-encryption.org/") and b"-----" in data[:_SNIFF_BYTES]


def encode(data: bytes) -> bytes:
    text = base64.b64encode(data)
    lines = [text[i : i + _COLUMNS] for i in range(0, len(text), _COLUMNS)]
    return b"\n".join([BEGIN, *lines, END]) + b"\n"


def decode(data: bytes) -> bytes:
    block = data.strip(_WHITESPACE)
    if b"\r\n" in block:
        block = block.replace(b"\r\n", b"\n")
    if b"\r" in block:
        raise ArmorError("armor has a stray carriage return")
    lines = block.split(b"\n")
    if len(lines) < 2 or lines[0] != BEGIN:
        raise ArmorError("armor does not start with the AGE ENCRYPTED FILE line")
    if lines[-1] != END:
        raise ArmorError("armor does not end with the AGE ENCRYPTED FILE line")
    body = lines[1:-1]
    for i, line in enumerate(body):
        last = i == len(body) - 1
        if len(line) > _COLUMNS or (not last and len(line) != _COLUMNS) or not line:
            raise ArmorError("armor lines must be 64 columns, the last one 1 to 64")
    text = b"".join(body)
    try:
        decoded = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ArmorError("armor is not valid base64") from None
    if base64.b64encode(decoded) != text:
        raise ArmorError("armor is not canonical base64")
    return decoded

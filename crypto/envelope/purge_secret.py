"""Purge secrets: what proves to the server that staff decrypted a report, not merely copied it.

The server draws a secret for each report, seals it inside the report and keeps only its SHA-256
beside the sealed bytes. Only someone who can open the report learns the secret, and the
acknowledgement (crypto/staff/ack.py) carries it back: the server deletes a report only when the
secret revealed hashes to what it kept. Whoever holds an export bundle but no staff key cannot
write an acknowledgement that deletes anything.
"""

from __future__ import annotations

import hashlib
import re
import secrets

# 256 random bits: neither guessable nor found from the stored hash.
SECRET_BYTES = 32
HASH_BYTES = 32  # SHA-256
_HEX = re.compile(rf"[0-9a-f]{{{2 * SECRET_BYTES}}}")


def new_purge_secret() -> str:
    """A fresh secret, as the 64 lowercase hex digits a report carries."""
    return secrets.token_hex(SECRET_BYTES)


def is_purge_secret(value: object) -> bool:
    return isinstance(value, str) and _HEX.fullmatch(value) is not None


def purge_hash(secret: bytes | str) -> bytes:
    """What the server stores: SHA-256 of the secret's 32 bytes (hex is accepted and decoded)."""
    raw = bytes.fromhex(secret) if isinstance(secret, str) else bytes(secret)
    if len(raw) != SECRET_BYTES:
        raise ValueError(f"a purge secret is {SECRET_BYTES} bytes")
    return hashlib.sha256(raw).digest()

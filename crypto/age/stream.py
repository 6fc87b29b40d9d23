"""The age payload: STREAM over ChaCha20-Poly1305 in 64 KiB chunks.

Chunk i is sealed with the nonce  i (11 bytes, big endian) || last-flag (1 byte), so chunks can
be neither reordered, dropped nor truncated without a failed tag, and the last one is marked.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from crypto.age.errors import HeaderError, PayloadError
from crypto.age.wire import hkdf

CHUNK_SIZE = 64 * 1024
TAG_SIZE = 16
NONCE_SIZE = 16  # the payload nonce that salts the payload key, not the AEAD nonce
_SEALED_CHUNK = CHUNK_SIZE + TAG_SIZE


def _nonce(counter: int, last: bool) -> bytes:
    return counter.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


def payload_key(file_key: bytes, nonce: bytes) -> bytes:
    return hkdf(file_key, nonce, b"payload")


def encrypt(file_key: bytes, plaintext: bytes) -> bytes:
    """Returns nonce || sealed chunks."""
    nonce = os.urandom(NONCE_SIZE)
    aead = ChaCha20Poly1305(payload_key(file_key, nonce))
    view = memoryview(plaintext)
    # An empty plaintext is one empty final chunk; otherwise no chunk is empty.
    count = max(1, -(-len(view) // CHUNK_SIZE))
    out = [nonce]
    for i in range(count):
        chunk = view[i * CHUNK_SIZE : (i + 1) * CHUNK_SIZE]
        out.append(aead.encrypt(_nonce(i, i == count - 1), chunk, None))
    return b"".join(out)


def decrypt_chunks(file_key: bytes, payload: bytes | memoryview) -> Iterator[bytes]:
    """Yields each chunk's plaintext after its tag verified; raises PayloadError on the first
    bad chunk. Callers that release plaintext must first consume the whole iterator."""
    view = memoryview(payload)
    if len(view) < NONCE_SIZE:
        # The nonce belongs to the header's side of the format (the test kit counts a missing
        # one as a header failure); age.decrypt checks it before this point.
        raise HeaderError("the file is truncated (no payload nonce)")
    aead = ChaCha20Poly1305(payload_key(file_key, bytes(view[:NONCE_SIZE])))
    body = view[NONCE_SIZE:]
    if not body:
        raise PayloadError("the payload is truncated (no chunks)")
    count = -(-len(body) // _SEALED_CHUNK)
    for i in range(count):
        sealed = body[i * _SEALED_CHUNK : (i + 1) * _SEALED_CHUNK]
        if len(sealed) < TAG_SIZE:
            raise PayloadError("the payload ends inside a chunk")
        if i < count - 1:
            chunk = _open(aead, i, sealed, last=False)
            if chunk is None:
                final = _open(aead, i, sealed, last=True)
                if final is not None:
                    # A valid final chunk with more data after it: the data was appended.
                    yield final
                    raise PayloadError("there is data after the final chunk")
                raise PayloadError(f"payload chunk {i} failed authentication (altered)")
            yield chunk
            continue
        chunk = _open(aead, i, sealed, last=True)
        if chunk is None:
            middle = _open(aead, i, sealed, last=False) if len(sealed) == _SEALED_CHUNK else None
            if middle is not None:
                # A full middle chunk and then nothing: the file was cut at a chunk boundary.
                yield middle
                raise PayloadError("the payload is truncated (no final chunk)")
            raise PayloadError(f"payload chunk {i} failed authentication (altered or truncated)")
        if not chunk and i > 0:
            raise PayloadError("the final chunk is empty")
        yield chunk


def _open(aead: ChaCha20Poly1305, counter: int, sealed: memoryview, *, last: bool) -> bytes | None:
    try:
        return aead.decrypt(_nonce(counter, last), sealed, None)
    except InvalidTag:
        return None


def decrypt(file_key: bytes, payload: bytes | memoryview) -> bytes:
    """Decrypts the whole payload; returns nothing unless every chunk verified."""
    return b"".join(list(decrypt_chunks(file_key, payload)))

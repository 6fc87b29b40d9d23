"""The public API: encrypt to recipients, decrypt with identities (age v1, c2sp.org/age).

Decryption holds the whole file in memory and returns only after every payload chunk has
verified, so no unauthenticated plaintext is ever released.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import Protocol

from crypto.age import armor as _armor
from crypto.age import labels, stream, wire
from crypto.age.errors import (
    AgeError,
    HeaderError,
    NoIdentityMatchError,
    RecipientError,
)
from crypto.age.wire import Stanza

FILE_KEY_SIZE = 16


class Recipient(Protocol):
    def wrap(self, file_key: bytes) -> list[Stanza]: ...


# A recipient may also carry `labels: frozenset[str]` (crypto/age/labels.py): the rule lives here
# once, and a new recipient type states its labels without changing this file.
def labels_of(recipient: Recipient) -> frozenset[str]:
    return frozenset(getattr(recipient, "labels", frozenset()))


class Identity(Protocol):
    def unwrap(self, stanzas: Sequence[Stanza]) -> bytes | None: ...


def encrypt(plaintext: bytes, recipients: Sequence[Recipient], *, armor: bool = False) -> bytes:
    recipients = list(recipients)
    _check_recipients(recipients)
    file_key = os.urandom(FILE_KEY_SIZE)
    stanzas = [stanza for r in recipients for stanza in r.wrap(file_key)]
    data = wire.encode_header(stanzas, file_key) + stream.encrypt(file_key, plaintext)
    return _armor.encode(data) if armor else data


def _check_recipients(recipients: Sequence[Recipient]) -> None:
    """Raises RecipientError unless this list may be encrypted to, before any work is done."""
    if not recipients:
        raise RecipientError("no recipients")
    sets = [labels_of(r) for r in recipients]
    if all(labels == sets[0] for labels in sets):
        return
    everything = frozenset().union(*sets)
    if any(label.startswith(labels.PASSPHRASE_PREFIX) for label in everything):
        # The spec forbids it: a passphrase file must not be openable by anyone else.
        raise RecipientError("a passphrase cannot be combined with other recipients")
    if labels.POSTQUANTUM in everything:
        # A classic stanza beside a post-quantum one would let a future quantum attacker open
        # the file through the classic one, silently undoing the reason to use post-quantum keys.
        raise RecipientError("post-quantum (age1pq1…) and classic (age1…) recipients cannot be mixed")
    raise RecipientError("these recipients cannot be combined in one file (their labels differ)")


def decrypt(data: bytes, identities: Sequence[Identity]) -> bytes:
    """Returns the plaintext, or raises an AgeError subclass; never releases unverified data."""
    file_key, payload = _open_header(data, identities)
    return stream.decrypt(file_key, payload)


def decrypt_chunks(data: bytes, identities: Sequence[Identity]) -> Iterator[bytes]:
    """Yields verified payload chunks one by one. For tests of the test kit's partial-payload
    hashes only: a consumer that stops at an error has still seen the chunks before it."""
    file_key, payload = _open_header(data, identities)
    yield from stream.decrypt_chunks(file_key, payload)


def _open_header(data: bytes, identities: Sequence[Identity]) -> tuple[bytes, memoryview]:
    data = bytes(data)
    if _armor.is_armored(data):
        data = _armor.decode(data)
    header, offset = wire.parse_header(data)
    if len(data) - offset < stream.NONCE_SIZE:
        raise HeaderError("the file is truncated (no payload nonce)")
    if any(s.type == "scrypt" for s in header.stanzas) and len(header.stanzas) != 1:
        # Checked for every identity type: a passphrase-protected file must not have been
        # openable by anyone else too.
        raise HeaderError("an scrypt stanza must be the only stanza in the header")
    for identity in identities:
        file_key = identity.unwrap(header.stanzas)
        if file_key is not None:
            break
    else:
        raise NoIdentityMatchError("no identity matched any of the file's recipients")
    wire.verify_mac(header, file_key)
    return file_key, memoryview(data)[offset:]


def is_passphrase_encrypted(data: bytes) -> bool:
    """True if `data` parses as an age file whose one stanza is scrypt. Parsing errors are left
    for decrypt() to report."""
    try:
        data = bytes(data)
        if _armor.is_armored(data):
            data = _armor.decode(data)
        header, _ = wire.parse_header(data)
    except AgeError:
        return False
    return any(s.type == "scrypt" for s in header.stanzas)

"""The scrypt recipient type: a file encrypted to a passphrase (as `age -p` writes it).

keys.py uses it to protect an identity file at rest, as `age -p -a` would.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from crypto.age import labels as _labels
from crypto.age.errors import HeaderError, PassphraseError
from crypto.age.wire import Stanza, b64decode, b64encode

TYPE = "scrypt"
_SALT_LABEL = b"age-encryption.org/v1/scrypt"
_SALT_SIZE = 16
_ZERO_NONCE = bytes(12)
_BODY_SIZE = 16 + 16  # file key + tag; checked before decrypting (partitioning oracles)

# log2 of scrypt's N when we encrypt: 2^18 with r=8 is 256 MiB and about a second, age's own
# default, so a stolen identity file costs an attacker that much per guess.
DEFAULT_WORK_FACTOR = 18
# log2 of the largest N we accept when decrypting. The spec asks for an upper limit so that a
# crafted file cannot make us spend unbounded time and memory; 22 (4 GiB, many seconds) is age's
# own limit, so every file age opens opens here too, and the test kit requires refusing 23.
MAX_WORK_FACTOR = 22
# Passphrases are typed or read from a file; 1 KiB is far beyond any real one and bounds the
# input we hash.
MAX_PASSPHRASE_BYTES = 1024


def _check_passphrase(passphrase: str) -> bytes:
    data = passphrase.encode("utf-8")
    if not data:
        raise PassphraseError("the passphrase is empty")
    if len(data) > MAX_PASSPHRASE_BYTES:
        raise PassphraseError(f"the passphrase is longer than {MAX_PASSPHRASE_BYTES} bytes")
    return data


def _wrap_key(passphrase: bytes, salt: bytes, work_factor: int) -> bytes:
    kdf = Scrypt(salt=_SALT_LABEL + salt, length=32, n=1 << work_factor, r=8, p=1)
    try:
        return kdf.derive(passphrase)
    except MemoryError:
        raise HeaderError(f"scrypt work factor {work_factor} needs more memory than this machine has") from None


class ScryptRecipient:
    def __init__(self, passphrase: str, work_factor: int = DEFAULT_WORK_FACTOR) -> None:
        if not 1 <= work_factor <= MAX_WORK_FACTOR:
            raise ValueError(f"scrypt work factor must be within 1..{MAX_WORK_FACTOR}")
        self._passphrase = _check_passphrase(passphrase)
        self._work_factor = work_factor
        self.labels = frozenset({_labels.unique_passphrase_label()})

    def __repr__(self) -> str:
        return f"ScryptRecipient(work_factor={self._work_factor})"

    def wrap(self, file_key: bytes) -> list[Stanza]:
        salt = os.urandom(_SALT_SIZE)
        key = _wrap_key(self._passphrase, salt, self._work_factor)
        body = ChaCha20Poly1305(key).encrypt(_ZERO_NONCE, file_key, None)
        return [Stanza(TYPE, (b64encode(salt), str(self._work_factor)), body)]


class ScryptIdentity:
    def __init__(self, passphrase: str, max_work_factor: int = MAX_WORK_FACTOR) -> None:
        self._passphrase = _check_passphrase(passphrase)
        self._max_work_factor = min(max_work_factor, MAX_WORK_FACTOR)

    def __repr__(self) -> str:
        return "ScryptIdentity(…)"

    def unwrap(self, stanzas: Sequence[Stanza]) -> bytes | None:
        for stanza in stanzas:
            if stanza.type != TYPE:
                continue
            # age.decrypt has already refused an scrypt stanza that is not alone in the header.
            if len(stanza.args) != 2:
                raise HeaderError("an scrypt stanza has exactly three arguments")
            try:
                salt = b64decode(stanza.args[0])
            except ValueError:
                raise HeaderError("scrypt stanza salt is not canonical base64") from None
            if len(salt) != _SALT_SIZE:
                raise HeaderError("scrypt stanza salt is not 16 bytes")
            factor = stanza.args[1]
            # Decimal digits only, no sign, no leading zero: one spelling per number.
            if not (factor.isascii() and factor.isdigit() and factor[0] != "0" and len(factor) <= 2):
                raise HeaderError("scrypt work factor is not a plain decimal number")
            work_factor = int(factor)
            if work_factor > self._max_work_factor:
                raise HeaderError(f"scrypt work factor {work_factor} is above the limit of {self._max_work_factor}")
            if len(stanza.body) != _BODY_SIZE:
                raise HeaderError("scrypt stanza body is not 32 bytes")
            key = _wrap_key(self._passphrase, salt, work_factor)
            try:
                return ChaCha20Poly1305(key).decrypt(_ZERO_NONCE, stanza.body, None)
            except InvalidTag:
                return None  # wrong passphrase
        return None

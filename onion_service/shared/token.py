"""The form token: proof that a form was served by us, not too long ago and not too recently.

It travels in a hidden field (no cookie), encrypted and authenticated with a key derived from a
secret kept in the data directory, so that every worker checks every other worker's tokens. It
holds the language and the time the form was served, readable by the server only; it is never
stored. Too old: the reporter left the form open (we keep what they typed and ask them to send
again). Too young: a machine filled it in. Used once for an accepted report, it is spent (held in
shared memory until it would have expired): a replay gets the form back, not a second report.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import struct
import time
from collections.abc import Callable
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from crypto.errors import Error
from onion_service.shared.table import SharedTable

SECRET_FILE = "form-token.key"
_SECRET_BYTES = 32
_SALT = "meldpunt.form-token.v2"
_NONCE_BYTES = 12  # AES-GCM's nonce; random, so also the token's id
# nonce 12 + time 8 + purpose ("status-" and a language tag of at most 12, MAX_TAG_CHARS) + tag 16
# = 55 bytes at most: 74 characters. Anything longer is not ours.
_MAX_TOKEN_CHARS = 76
# Spent tokens remembered at once: rows of 3 integers, 3 MiB. At the default ceiling of accepted
# reports a minute, a token's 6 hours hold fewer; past it, spending fails closed (see SpentTokens).
SPENT_SLOTS = 131072


class SecretFileError(Error):
    """The token secret cannot be created or read."""


class TokenRejected(Exception):
    """Base of the three ways a token is refused."""


class TokenInvalid(TokenRejected):
    """Missing, malformed, forged, or issued for another language."""


class TokenExpired(TokenRejected):
    """Older than the configured maximum."""


class TokenTooFast(TokenRejected):
    """Sent back sooner than a person could have filled in the form."""


def load_or_create_secret(data_dir: Path) -> bytes:
    """The signing secret, created on first start with mode 0600.

    Several workers may start at once: the secret is written to a private temporary name and
    hard-linked into place, which fails if another process won, so nobody ever reads a half
    written file and all workers end up with the same secret.
    """
    path = data_dir / SECRET_FILE
    try:
        return _load_or_create(path)
    except OSError as exc:
        raise SecretFileError(f"cannot create or read {path}: {exc.strerror}") from None


def _load_or_create(path: Path) -> bytes:
    if not path.exists():
        tmp = path.parent / f".{SECRET_FILE}.{secrets.token_hex(8)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, secrets.token_hex(_SECRET_BYTES).encode("ascii"))
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another worker created it first; theirs is as good and is now the one in use
        finally:
            os.unlink(tmp)
    secret = path.read_bytes().strip()
    if len(secret) < _SECRET_BYTES:
        raise SecretFileError(f"{path} is truncated; delete it to make a new one")
    return secret


class FormTokens:
    """Tokens sealed with AES-256-GCM under a key derived from the secret: the time a form was
    served is inside the ciphertext, so no visitor can read the server's clock from a token
    (itsdangerous' signed tokens carried it in clear). The random nonce is the token's id, by
    which a spent token is recognised."""

    def __init__(
        self,
        secret: bytes,
        *,
        min_seconds: int,
        max_seconds: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        key = hashlib.blake2b(secret, digest_size=32, person=b"meldpunt-token").digest()
        self._aead = AESGCM(key)
        # Another key from the same secret: the digest a spent token is stored under (store/spent.py).
        self._spent_key = hashlib.blake2b(secret, digest_size=32, person=b"meldpunt-spent").digest()
        self._min, self._max = min_seconds, max_seconds
        self._clock = clock

    def issue(self, language: str) -> str:
        nonce = os.urandom(_NONCE_BYTES)
        plain = struct.pack(">Q", int(self._clock())) + language.encode("ascii")
        sealed = self._aead.encrypt(nonce, plain, _SALT.encode())
        return base64.urlsafe_b64encode(nonce + sealed).decode("ascii").rstrip("=")

    def spent_digest(self, token_id: bytes) -> bytes:
        """What the shared database keeps of a spent token: keyed, so that the row alone cannot be
        matched with a token found elsewhere (in a reporter's browser, say)."""
        return hashlib.blake2b(token_id, digest_size=32, key=self._spent_key).digest()

    def check(self, token: str, language: str) -> bytes:
        """The token's id (to spend it) if it is ours, for `language`, neither too old nor too young."""
        if not token or len(token) > _MAX_TOKEN_CHARS or not token.isascii():
            raise TokenInvalid()
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            nonce, sealed = raw[:_NONCE_BYTES], raw[_NONCE_BYTES:]
            plain = self._aead.decrypt(nonce, sealed, _SALT.encode())
        except (ValueError, InvalidTag):
            raise TokenInvalid() from None
        if len(plain) < 8 or plain[8:] != language.encode("ascii"):
            raise TokenInvalid()
        (issued,) = struct.unpack(">Q", plain[:8])
        age = self._clock() - issued
        if age > self._max:
            raise TokenExpired()
        if age < self._min:
            raise TokenTooFast()
        return nonce


class SpentTokens:
    """The ids of tokens already used for an accepted report, until they would have expired anyway.

    In shared memory (made by the master before it forks, like the budget), never on disk. A full
    table refuses to spend: a replay must never get through because the table ran out of room;
    the reporter gets the form back with their answers and a fresh token to send again.
    """

    def __init__(self, lifetime_seconds: float, *, slots: int = SPENT_SLOTS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._table = SharedTable(slots, 1, clock=clock)
        # A little longer than a token lives, so an id is never forgotten while its token is valid.
        self._lifetime = lifetime_seconds + 60

    def spend(self, token_id: bytes) -> bool:
        """True the first time for `token_id`; False if it was spent before (or no room is left)."""
        fresh = [False]

        def decide(counts: list[int]) -> list[int] | None:
            if counts[0]:
                return None
            fresh[0] = True
            return [1]

        return self._table.update(self._table.key_of(token_id), self._lifetime, decide) is not None and fresh[0]

    def give_back(self, token_id: bytes) -> None:
        """Unspends a token whose report could not be stored, so the reporter can send it again."""
        self._table.forget(self._table.key_of(token_id))

    def sweep(self, rows: int) -> None:
        self._table.sweep(rows)

"""The form token: proof that a form was served by us, not too long ago and not too recently.

It travels in a hidden field (no cookie), encrypted and authenticated with a key derived from a
secret kept in the data directory, so that every worker checks every other worker's tokens. It
holds the language and the time the form was served, readable by the server only; it is never
stored. Too old: the reporter left the form open (we keep what they typed and ask them to send
again). Too young: a machine filled it in. Used once for an accepted report, it is spent (held in
shared memory until it would have expired): a replay gets the form back, not a second report.

Spent stays spent across a restart. On SQLite the spent tokens exist only in this start's memory,
so the secret is made anew at every start (`new_secret`): a token issued before cannot be read
after, and its reporter gets the form back with their answers and a fresh token. On PostgreSQL the
backends behind Onionbalance share the secret and the spent tokens are in the database
(store/spent.py), which outlives a restart; the secret stays.

One clock for both ages: a token's age and a spent entry's lifetime are both read on the wall
clock (shared/state.py hands the same clock to both), so a clock set back keeps the spent entry
exactly as much longer as it keeps the token valid.
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

from crypto import files
from crypto.errors import Error
from onion_service.shared.table import PROBES, SharedTable

SECRET_FILE = "form-token.key"
_SECRET_BYTES = 32
_SALT = "meldpunt.form-token.v2"
_NONCE_BYTES = 12  # AES-GCM's nonce; random, so also the token's id
# nonce 12 + time 8 + purpose ("status-" and a language tag of at most 12, MAX_TAG_CHARS) + tag 16
# = 55 bytes at most: 74 characters. Anything longer is not ours.
_MAX_TOKEN_CHARS = 76
# A table this many times larger than the most entries it can hold is a quarter full at worst: a
# run of PROBES (32) live rows, the only way a spend finds no room, is then practically impossible
# (about e^-20 a row under linear probing). See spent_slots and SECURITY.md.
SPENT_HEADROOM = 4
# Entries live a minute longer than their token (SpentTokens); the budget counts per whole minute.
_SPENT_MARGIN_SECONDS = 60
# Rows of 3 integers (24 bytes): 2**26 rows are 1.5 GiB at worst. A configuration that needs more
# (reports_per_minute x form_max_hours far beyond any hotline's) is refused rather than allowed to
# fill its table.
MAX_SPENT_SLOTS = 2**26


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


def new_secret(data_dir: Path) -> bytes:
    """A new signing secret for this start, replacing the old one atomically (a reader sees one
    or the other): tokens issued before the start are no longer ours. Called once, by the master
    before it forks (shared/state.py), on a store that keeps no spent tokens itself."""
    secret = secrets.token_hex(_SECRET_BYTES).encode("ascii")
    files.atomic_write(data_dir / SECRET_FILE, secret, error=SecretFileError)
    return secret


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


def spent_slots(per_minute: int, lifetime_seconds: float) -> int:
    """The size of a spent table that cannot fill within a token's lifetime when a token is
    spent only after a unit of a budget of `per_minute` was taken (web/views.py, status_views.py).

    An entry lives lifetime + 60 s. The budget counts per fixed minute, and a span of W seconds
    meets at most ceil(W / 60) + 1 of its minutes: at most per_minute x (ceil(lifetime / 60) + 2)
    entries are live at once. Times SPENT_HEADROOM. Raises ValueError past MAX_SPENT_SLOTS."""
    minutes = -(-int(lifetime_seconds + _SPENT_MARGIN_SECONDS) // 60) + 1
    slots = max(PROBES, SPENT_HEADROOM * per_minute * minutes)
    if slots > MAX_SPENT_SLOTS:
        raise ValueError(
            f"{per_minute} a minute for {lifetime_seconds / 3600:g} hours needs {slots} "
            f"spent-token slots, more than {MAX_SPENT_SLOTS}"
        )
    return slots


class SpentTokens:
    """The ids of tokens already used, until they would have expired anyway; one table per page
    (the report form's and the status page's), so that one page's tokens never take another's room.

    In shared memory (made by the master before it forks, like the budget), never on disk, sized
    by `spent_slots`. A full table refuses to spend: a replay must never get through because the
    table ran out of room; the reporter gets the form back with their answers and a fresh token.
    `clock` must be the clock of the FormTokens whose ids are spent here (one clock for both ages).
    """

    def __init__(self, lifetime_seconds: float, *, slots: int, clock: Callable[[], float] = time.time) -> None:
        self._table = SharedTable(slots, 1, clock=clock)
        # A little longer than a token lives, so an id is never forgotten while its token is valid.
        self._lifetime = lifetime_seconds + _SPENT_MARGIN_SECONDS

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

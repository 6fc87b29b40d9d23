"""The form token: proof that a form was served by us, not too long ago and not too recently.

It travels in a hidden field (no cookie), signed with a secret kept in the data directory so that
every worker checks every other worker's tokens. It holds the language and the time the form was
served; it is never stored. Too old: the reporter left the form open (we keep what they typed and
ask them to send again). Too young: a machine filled it in.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable
from pathlib import Path

from itsdangerous import BadData, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from crypto.errors import Error

SECRET_FILE = "form-token.key"
_SECRET_BYTES = 32
_SALT = "meldpunt.form-token.v1"


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
    def __init__(
        self,
        secret: bytes,
        *,
        min_seconds: int,
        max_seconds: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        class _Signer(TimestampSigner):
            def get_timestamp(self) -> int:
                return int(clock())

        self._serializer = URLSafeTimedSerializer(secret, salt=_SALT, signer=_Signer)
        self._min, self._max = min_seconds, max_seconds
        self._clock = clock

    def issue(self, language: str) -> str:
        return self._serializer.dumps(language)

    def check(self, token: str, language: str) -> None:
        if not token or len(token) > 200:  # a real token is ~40 characters
            raise TokenInvalid()
        try:
            value, issued = self._serializer.loads(token, max_age=self._max, return_timestamp=True)
        except SignatureExpired:
            raise TokenExpired() from None
        except BadData:
            raise TokenInvalid() from None
        if value != language:
            raise TokenInvalid()
        if self._clock() - issued.timestamp() < self._min:
            raise TokenTooFast()

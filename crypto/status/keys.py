"""The status signing key (Ed25519) and its text forms.

The private key lives on the offline machine, in a file written like a staff identity (comment
lines, then one MELDPUNT-STATUS-SECRET-KEY-1… line) and, unless staff say otherwise, encrypted
to a passphrase the way `meldpunt keygen` protects identities. The public key, meldpunt-status1…,
goes into the server's configuration. Both are Bech32, so a typo in a copied key is caught by its
checksum rather than turning into "every status file is refused".
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from crypto.age import bech32
from crypto.age.keys import PassphraseProvider, unprotect
from crypto.files import read_bounded
from crypto.status.errors import StatusKeyError

PUBLIC_HRP = "meldpunt-status"
SECRET_HRP = "meldpunt-status-secret-key-"
# A key file is a few comment lines and one key; anything larger is another file.
MAX_KEY_FILE_BYTES = 16 * 1024


@dataclass(frozen=True)
class VerifyKey:
    raw: bytes

    @classmethod
    def parse(cls, text: str) -> VerifyKey:
        if not isinstance(text, str):
            raise StatusKeyError("a status public key is a string")
        data = bech32.decode_key(text.strip(), PUBLIC_HRP, secret=False, error=StatusKeyError, what="status public key")
        if len(data) != 32:
            raise StatusKeyError("invalid status public key: not 32 bytes")
        return cls(data)

    def encode(self) -> str:
        return bech32.encode(PUBLIC_HRP, self.raw)

    def verify(self, signature: bytes, data: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.raw).verify(signature, data)
        except (InvalidSignature, ValueError):
            return False
        return True


class SigningKey:
    def __init__(self, private: Ed25519PrivateKey) -> None:
        self._private = private

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def parse(cls, text: str) -> SigningKey:
        data = bech32.decode_key(text.strip(), SECRET_HRP, secret=True, error=StatusKeyError, what="status signing key")
        if len(data) != 32:
            raise StatusKeyError("invalid status signing key: not 32 bytes")
        return cls(Ed25519PrivateKey.from_private_bytes(data))

    def encode(self) -> str:
        raw = self._private.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )
        return bech32.encode(SECRET_HRP, raw).upper()

    def public(self) -> VerifyKey:
        return VerifyKey(
            self._private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        )

    def sign(self, data: bytes) -> bytes:
        return self._private.sign(data)


def key_file_text(key: SigningKey) -> str:
    created = datetime.datetime.now(datetime.UTC).replace(microsecond=0).isoformat()
    return f"# meldpunt status signing key, created: {created}\n# public key: {key.public().encode()}\n{key.encode()}\n"


def load_key_file(path: str | os.PathLike[str], passphrase_provider: PassphraseProvider) -> SigningKey:
    """A plain or passphrase-protected signing key file; the provider is called only if needed."""
    name = os.fspath(path)
    data = unprotect(
        read_bounded(path, MAX_KEY_FILE_BYTES, StatusKeyError, "status key file"),
        passphrase_provider,
        name,
        error=StatusKeyError,
    )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise StatusKeyError(f"{name} is not a status key file") from None
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    if len(lines) != 1 or not lines[0].startswith(SECRET_HRP.upper() + "1"):
        raise StatusKeyError(f"{name} is not a status key file (one MELDPUNT-STATUS-SECRET-KEY-1… line)")
    return SigningKey.parse(lines[0])

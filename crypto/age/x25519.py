"""The X25519 recipient type (age1… / AGE-SECRET-KEY-1…): classic, not post-quantum."""

from __future__ import annotations

import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.x25519 import (
    X25519PrivateKey,
    X25519PublicKey,
)
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from crypto.age import bech32
from crypto.age.errors import HeaderError, IdentityError, RecipientError
from crypto.age.wire import Stanza, b64decode, b64encode, hkdf

TYPE = "X25519"
RECIPIENT_HRP = "age"
IDENTITY_HRP = "age-secret-key-"
_INFO = b"age-encryption.org/v1/X25519"
_ZERO_NONCE = bytes(12)
_KEY_SIZE = 32
_BODY_SIZE = 16 + 16  # file key + tag; checked before decrypting (partitioning oracles)


class X25519Recipient:
    def __init__(self, public: bytes) -> None:
        if len(public) != _KEY_SIZE:
            raise RecipientError("an X25519 recipient is 32 bytes")
        self.public = public
        self._key = X25519PublicKey.from_public_bytes(public)

    @classmethod
    def parse(cls, text: str) -> X25519Recipient:
        return cls(bech32.decode_key(text, RECIPIENT_HRP, secret=False, error=RecipientError, what="X25519 recipient"))

    def encode(self) -> str:
        return bech32.encode(RECIPIENT_HRP, self.public)

    def __str__(self) -> str:
        return self.encode()

    def __repr__(self) -> str:
        return f"X25519Recipient({self.encode()!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, X25519Recipient) and other.public == self.public

    def __hash__(self) -> int:
        return hash((TYPE, self.public))

    def wrap(self, file_key: bytes) -> list[Stanza]:
        ephemeral = X25519PrivateKey.generate()
        share = ephemeral.public_key().public_bytes_raw()
        shared = ephemeral.exchange(self._key)
        wrap_key = hkdf(shared, share + self.public, _INFO)
        body = ChaCha20Poly1305(wrap_key).encrypt(_ZERO_NONCE, file_key, None)
        return [Stanza(TYPE, (b64encode(share),), body)]


class X25519Identity:
    def __init__(self, secret: bytes) -> None:
        if len(secret) != _KEY_SIZE:
            raise IdentityError("an X25519 identity is 32 bytes")
        self._secret = secret
        self._key = X25519PrivateKey.from_private_bytes(secret)
        self._public = self._key.public_key().public_bytes_raw()

    @classmethod
    def generate(cls) -> X25519Identity:
        return cls(os.urandom(_KEY_SIZE))

    @classmethod
    def parse(cls, text: str) -> X25519Identity:
        return cls(bech32.decode_key(text, IDENTITY_HRP, secret=True, error=IdentityError, what="X25519 identity"))

    def encode(self) -> str:
        return bech32.encode(IDENTITY_HRP, self._secret).upper()

    def __repr__(self) -> str:
        return f"X25519Identity(recipient={self.recipient().encode()!r})"  # never the secret

    def recipient(self) -> X25519Recipient:
        return X25519Recipient(self._public)

    def unwrap(self, stanzas: Sequence[Stanza]) -> bytes | None:
        """Returns the file key, None if no stanza is ours, or raises HeaderError for a malformed
        X25519 stanza (the spec requires rejecting it, not skipping it)."""
        for stanza in stanzas:
            if stanza.type != TYPE:
                continue
            if len(stanza.args) != 1:
                raise HeaderError("an X25519 stanza has exactly two arguments")
            try:
                share = b64decode(stanza.args[0])
            except ValueError:
                raise HeaderError("X25519 stanza share is not canonical base64") from None
            if len(share) != _KEY_SIZE:
                raise HeaderError("X25519 stanza share is not 32 bytes")
            if len(stanza.body) != _BODY_SIZE:
                raise HeaderError("X25519 stanza body is not 32 bytes")
            try:
                # cryptography refuses an all-zero shared secret (a low-order share), as age must.
                shared = self._key.exchange(X25519PublicKey.from_public_bytes(share))
            except ValueError:
                raise HeaderError("X25519 stanza share is a low-order point") from None
            wrap_key = hkdf(shared, share + self._public, _INFO)
            try:
                return ChaCha20Poly1305(wrap_key).decrypt(_ZERO_NONCE, stanza.body, None)
            except InvalidTag:
                continue  # addressed to someone else
        return None

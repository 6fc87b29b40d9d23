"""Recipients and identities as text, key generation, and passphrase-protected identity files.

An identity file is the text age-keygen writes (comment lines, then one AGE-SECRET-KEY…
line), optionally encrypted to a passphrase as an armored age file, the way `age -p` would.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Callable
from typing import TypeVar

from crypto import age
from crypto.age import armor
from crypto.age.errors import (
    AgeError,
    IdentityError,
    NoIdentityMatchError,
    PassphraseError,
    RecipientError,
)
from crypto.age.mlkem import MLKEMIdentity, MLKEMRecipient
from crypto.age.scrypt import DEFAULT_WORK_FACTOR, ScryptIdentity, ScryptRecipient
from crypto.age.x25519 import X25519Identity, X25519Recipient
from crypto.errors import Error
from crypto.files import read_bounded

PassphraseProvider = Callable[[], str]

# An identity file holds a few keys (~80 characters each), or a keyring of one key per period
# (crypto/periods: at most 1,200 periods of ~110 characters, ~180 KB armored and encrypted);
# 1 MiB is far more than any real one and stops us from reading a wrong, huge file into memory.
MAX_IDENTITY_FILE_BYTES = 1 << 20
# The same bound for a recipients file (-R); a post-quantum recipient is ~2 KB a line.
MAX_RECIPIENTS_FILE_BYTES = 1 << 20

# Each type by the prefix of its text form, the longer prefix first since it extends the shorter;
# a prefix with a message instead of a parser is a known type that is refused.
_RECIPIENT_PREFIXES = (
    ("age1pq1", MLKEMRecipient.parse),
    ("age1", X25519Recipient.parse),
    ("ssh-", "SSH keys are not supported as recipients; use an age1pq1… key"),
)
_IDENTITY_PREFIXES = (
    ("AGE-SECRET-KEY-PQ-1", MLKEMIdentity.parse),
    ("AGE-SECRET-KEY-1", X25519Identity.parse),
    ("AGE-PLUGIN-", "age plugin identities are not supported"),
)

_T = TypeVar("_T")


def parse_recipient(text: str) -> MLKEMRecipient | X25519Recipient:
    """Parses one recipient: age1pq1… (post-quantum, the default) or age1… (X25519)."""
    if not isinstance(text, str):
        raise RecipientError("a recipient is a string")
    return _parse_by_prefix(
        text, _RECIPIENT_PREFIXES, RecipientError, "unknown recipient type (expected age1pq1… or age1…)"
    )


def parse_recipients_file(text: str) -> list[MLKEMRecipient | X25519Recipient]:
    """One recipient a line; blank lines and lines starting with # are ignored."""
    return _parse_lines(text, parse_recipient, RecipientError, "the recipients file lists no recipients")


def parse_identity(text: str) -> MLKEMIdentity | X25519Identity:
    # Never echo the line in an error: it may be a secret in a slightly wrong format.
    return _parse_by_prefix(
        text,
        _IDENTITY_PREFIXES,
        IdentityError,
        "not an age identity (expected AGE-SECRET-KEY-PQ-1… or AGE-SECRET-KEY-1…)",
    )


def _parse_by_prefix(text: str, prefixes: tuple, error: type[Error], unknown: str):
    text = text.strip()
    for prefix, parse in prefixes:
        if text.startswith(prefix):
            if isinstance(parse, str):
                raise error(parse)
            return parse(text)
    raise error(unknown)


def parse_identities(text: str) -> list[MLKEMIdentity | X25519Identity]:
    """The contents of a plain identity file: one identity a line; blank and # lines ignored."""
    return _parse_lines(text, parse_identity, IdentityError, "the identity file holds no identities")


def _parse_lines(
    text: str, parse: Callable[[str], _T], error: type[IdentityError] | type[RecipientError], empty: str
) -> list[_T]:
    """One item a line, each failure naming its line number; `empty` if there is none."""
    items = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            items.append(parse(line))
        except error as exc:
            raise error(f"line {number}: {exc}") from None
    if not items:
        raise error(empty)
    return items


def generate(kind: str = "pq") -> MLKEMIdentity | X25519Identity:
    """A new identity: "pq" (mlkem768x25519, the default) or "x25519"."""
    if kind == "pq":
        return MLKEMIdentity.generate()
    if kind == "x25519":
        return X25519Identity.generate()
    raise ValueError(f"unknown key kind {kind!r}")


def identity_file_text(identity: MLKEMIdentity | X25519Identity) -> str:
    """The identity as age-keygen writes it: who can read it is said by the comments."""
    created = datetime.datetime.now(datetime.UTC).replace(microsecond=0).isoformat()
    return f"# created: {created}\n# public key: {identity.recipient().encode()}\n{identity.encode()}\n"


def protect(text: str, passphrase: str, *, work_factor: int = DEFAULT_WORK_FACTOR) -> bytes:
    """Encrypts identity-file text to a passphrase: an armored age file, as `age -p -a` writes."""
    return age.encrypt(text.encode("utf-8"), [ScryptRecipient(passphrase, work_factor)], armor=True)


def is_encrypted(data: bytes) -> bool:
    return data.startswith(b"age-encryption.org/") or armor.is_armored(data)


def read_identity_file(path: str | os.PathLike[str]) -> bytes:
    return read_bounded(path, MAX_IDENTITY_FILE_BYTES, IdentityError, "identity file")


def load_identities(data: bytes, passphrase_provider: PassphraseProvider, name: str = "identity file"):
    """Identities from identity-file bytes, asking for the passphrase if they are protected."""
    data = unprotect(data, passphrase_provider, name)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise IdentityError(f"{name} is not a text identity file") from None
    try:
        return parse_identities(text)
    except IdentityError as exc:
        raise IdentityError(f"{name}: {exc}") from None


def unprotect(
    data: bytes, passphrase_provider: PassphraseProvider, name: str, *, error: type[Error] = IdentityError
) -> bytes:
    """The text of a key file, decrypted with the passphrase if `protect` wrote it; else as it is."""
    if not is_encrypted(data):
        return data
    if not age.is_passphrase_encrypted(data):
        # Asking for a passphrase would only end in a misleading "wrong passphrase".
        raise error(f"{name} is an age file but not passphrase-encrypted (or damaged)")
    try:
        return age.decrypt(data, [ScryptIdentity(passphrase_provider())])
    except NoIdentityMatchError:
        raise PassphraseError(f"wrong passphrase for {name}") from None
    except AgeError as exc:
        raise error(f"{name} is encrypted but cannot be opened: {exc}") from None


def load_identity_file(
    path: str | os.PathLike[str], passphrase_provider: PassphraseProvider
) -> list[MLKEMIdentity | X25519Identity]:
    """A plain or passphrase-protected identity file; the provider is called only if needed."""
    return load_identities(read_identity_file(path), passphrase_provider, os.fspath(path))

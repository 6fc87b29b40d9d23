"""Getting a passphrase: from the terminal, or from the first line of a file (automation).

The terminal is opened directly (/dev/tty), never stdin: stdin may be the file being decrypted,
and a passphrase must not be read from a pipe by accident.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

from crypto import files
from crypto.age.errors import PassphraseError
from crypto.age.scrypt import DEFAULT_WORK_FACTOR

# A passphrase file holds one line; more than this is not a passphrase file.
MAX_PASSPHRASE_FILE_BYTES = 4096
# A new passphrase protects a staff key that may leak with a laptop: refuse the shortest ones.
MIN_NEW_PASSPHRASE_CHARS = 10


def from_file(path: str) -> str:
    data = files.read_bounded(path, MAX_PASSPHRASE_FILE_BYTES, PassphraseError, "the passphrase file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise PassphraseError(f"the passphrase file {path} is not UTF-8 text") from None
    line = text.split("\n", 1)[0].removesuffix("\r")
    if not line:
        raise PassphraseError(f"the first line of {path} is empty")
    return line


def from_terminal(prompt: str, *, confirm: bool = False) -> str:
    import getpass

    try:
        fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    except OSError:
        raise PassphraseError("no terminal to ask for the passphrase: use --passphrase-file") from None
    os.close(fd)  # getpass opens /dev/tty itself; we only made sure it will not fall back to stdin
    first = getpass.getpass(f"{prompt}: ")
    if not first:
        raise PassphraseError("the passphrase is empty")
    if confirm and getpass.getpass("Confirm the passphrase: ") != first:
        raise PassphraseError("the passphrases do not match")
    return first


def provider(passphrase_file: str | None, prompt: str, *, confirm: bool = False) -> Callable[[], str]:
    """A callable that returns the passphrase, asking (or reading) at most once."""
    cache: list[str] = []

    def get() -> str:
        if not cache:
            if passphrase_file is not None:
                cache.append(from_file(passphrase_file))
            else:
                cache.append(from_terminal(prompt, confirm=confirm))
        return cache[0]

    return get


def check_new(passphrase: str) -> str:
    if len(passphrase) < MIN_NEW_PASSPHRASE_CHARS:
        raise PassphraseError(
            f"choose a passphrase of at least {MIN_NEW_PASSPHRASE_CHARS} characters (several random words are best)"
        )
    return passphrase


# For tests only: lets the suite make passphrase files quickly. It can only lower the cost, so
# it is announced on stderr every time it is used; the default stays age's 18.
_WORK_FACTOR_ENV = "MELDPUNT_INSECURE_SCRYPT_WORK_FACTOR"


def work_factor() -> int:
    """The scrypt work factor for a new passphrase: age's default, unless the tests lower it."""
    value = os.environ.get(_WORK_FACTOR_ENV)
    if value is None:
        return DEFAULT_WORK_FACTOR
    if not value.isdigit() or not 1 <= int(value) <= DEFAULT_WORK_FACTOR:
        raise PassphraseError(f"{_WORK_FACTOR_ENV} must be a number from 1 to {DEFAULT_WORK_FACTOR}")
    sys.stderr.write(f"meldpunt: warning: scrypt work factor lowered to {value} ({_WORK_FACTOR_ENV})\n")
    return int(value)

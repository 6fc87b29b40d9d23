"""Reading inputs and writing outputs for the CLI: bounded reads, atomic and private writes."""

from __future__ import annotations

import os
import sys
import tempfile

from crypto.errors import Error, FileError


def read_input(path: str | None) -> bytes:
    """The whole of INPUT, or of stdin when it is absent or "-"."""
    if path is None or path == "-":
        return sys.stdin.buffer.read()
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as exc:
        raise FileError(f"cannot read {path}: {exc.strerror}") from None


def read_bounded(path: str | os.PathLike[str], limit: int, error: type[Error], what: str) -> bytes:
    """The whole file, read as at most limit + 1 bytes so that a wrong, huge file is refused
    without filling memory; `error` names it as `what` ("identity file") when it fails."""
    name = os.fspath(path)
    try:
        with open(path, "rb") as f:
            data = f.read(limit + 1)
    except OSError as exc:
        raise error(f"cannot read {what} {name}: {exc.strerror}") from None
    if len(data) > limit:
        raise error(f"{what} {name} is too large: more than {limit} bytes")
    return data


def write_output(path: str | None, data: bytes) -> None:
    """Writes all of `data` to OUT atomically (a new file renamed into place, mode 0600), or to
    stdout when OUT is absent or "-". Called only once the whole result is known to be good."""
    if path is None or path == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    directory = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".meldpunt-", suffix=".tmp")
    except OSError as exc:
        raise FileError(f"cannot write in {directory}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as f:  # mkstemp creates it 0600
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        _remove_quietly(tmp)
        raise FileError(f"cannot write {path}: {exc.strerror}") from None
    except BaseException:
        _remove_quietly(tmp)
        raise


def create_private(path: str, data: bytes) -> None:
    """Creates `path` with mode 0600; refuses to replace an existing file (a key may be in it)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise FileError(f"{path} already exists; not overwriting it") from None
    except OSError as exc:
        raise FileError(f"cannot create {path}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except OSError as exc:
        _remove_quietly(path)
        raise FileError(f"cannot write {path}: {exc.strerror}") from None


def _remove_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        return

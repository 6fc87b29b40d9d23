"""Every file meldpunt writes or reads whole goes through here: bounded reads, private
directories, new files that never replace anything, and atomic replacements.

Shared by both sides (the server imports it too), so that the sequence that keeps a file safe is
written once: O_NOFOLLOW, so a planted symbolic link fails instead of sending data elsewhere;
O_EXCL where nothing may be replaced; fsync of the file, then of its directory, so that a file
said to be written survives a crash; rename for replacement, so a reader sees the old file or the
new one, never half. Each function raises `error` (a crypto.errors.Error subclass, FileError by
default) with a sentence naming the file; the caller picks the class its layer's tests match.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import sys
from collections.abc import Iterator
from typing import BinaryIO

from crypto.errors import Error, FileError

_WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


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
        kind = what.removeprefix("the ")
        raise error(f"{what} {name} is too large: larger than {limit} bytes, longer than any {kind} needs")
    return data


def private_dir(
    path: str | os.PathLike[str], *, create: bool = True, error: type[Error] = FileError, force_mode: bool = False
) -> None:
    """Makes `path` (mode 0700) if `create` and it is missing; refuses a file or a symbolic link
    in its place. `force_mode` sets 0700 on a directory that was already there (tor refuses a
    service directory others can read)."""
    name = os.fspath(path)
    if create:
        try:
            os.makedirs(name, 0o700, exist_ok=True)
        except FileExistsError:
            pass  # a file or a link stands there; refused below
        except OSError as exc:
            raise error(f"cannot create {name}: {exc.strerror}") from None
    try:
        st = os.lstat(name)
    except FileNotFoundError:
        raise error(f"{name} does not exist") from None
    if not stat.S_ISDIR(st.st_mode):
        raise error(f"{name} exists and is not a directory (or is a symbolic link)")
    if force_mode and stat.S_IMODE(st.st_mode) != 0o700:
        os.chmod(name, 0o700)


def create_new(path: str | os.PathLike[str], data: bytes, *, mode: int = 0o600, error: type[Error] = FileError) -> None:
    """Creates `path` with `mode` and all of `data`, synced with its directory; refuses (`error`)
    to replace anything already there, since a key may be in it."""
    if not create_new_or_keep(path, data, mode=mode, error=error):
        raise error(f"{os.fspath(path)} already exists; not overwriting it")


def create_new_or_keep(
    path: str | os.PathLike[str], data: bytes, *, mode: int = 0o600, error: type[Error] = FileError
) -> bool:
    """As `create_new`, but returns False (writing nothing) when a file is already there: for
    files that several processes may create at once, where the first one wins."""
    name = os.fspath(path)
    try:
        fd = os.open(name, _WRITE_FLAGS, mode)
    except FileExistsError:
        return False
    except OSError as exc:
        raise error(f"cannot create {name}: {_reason(exc)}") from None
    try:
        _write_all(fd, data)
        os.fsync(fd)
    except OSError as exc:
        os.close(fd)
        _remove_quietly(name)
        raise error(f"cannot write {name}: {_reason(exc)}") from None
    os.close(fd)
    fsync_dir(os.path.dirname(os.path.abspath(name)))
    return True


def atomic_write(
    path: str | os.PathLike[str], data: bytes, *, mode: int = 0o600, error: type[Error] = FileError
) -> None:
    """Replaces `path` with all of `data` atomically (a new file, synced, renamed into place)."""
    with atomic_file(path, mode=mode, error=error) as f:
        f.write(data)


@contextlib.contextmanager
def atomic_file(
    path: str | os.PathLike[str],
    *,
    mode: int = 0o600,
    error: type[Error] = FileError,
    what: str | None = None,
    note: str = "",
    buffering: int = -1,
) -> Iterator[BinaryIO]:
    """A file object whose content replaces `path` only if the block ends without an exception:
    then it is synced, renamed into place (replacing a link there, never its target) and the
    directory synced. On any failure the temporary file is removed and `path` is untouched.
    Messages name `what` (default: the path) and end with `note` ("(nothing was exported)")."""
    final = os.path.abspath(os.fspath(path))
    directory = os.path.dirname(final)
    label = what or os.fspath(path)
    # One temp name per target: a stale one from a crash is overwritten (O_TRUNC), and a link
    # planted there fails (O_NOFOLLOW) instead of sending the data elsewhere.
    temp = os.path.join(directory, f".{os.path.basename(final)}.tmp")
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
    except OSError as exc:
        raise error(f"cannot write {label}: {_reason(exc)}{note}") from None
    try:
        with os.fdopen(fd, "wb", buffering=buffering) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, final)
        fsync_dir(directory)
    except OSError as exc:
        _remove_quietly(temp)
        raise error(f"cannot write {label}: {_reason(exc)}{note}") from None
    except BaseException:
        _remove_quietly(temp)
        raise


def write_output(path: str | None, data: bytes) -> None:
    """Writes all of `data` to OUT atomically (mode 0600), or to stdout when OUT is absent or "-".
    Called only once the whole result is known to be good."""
    if path is None or path == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    atomic_write(path, data)


def create_private(path: str, data: bytes) -> None:
    """Creates `path` with mode 0600; refuses to replace an existing file (a key may be in it)."""
    create_new(path, data)


def fsync_dir(directory: str | os.PathLike[str]) -> None:
    """Syncs a directory, so that a file created or renamed in it survives a crash."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    except OSError as exc:
        # Some file systems on removable media (vfat, some FUSE) cannot sync a directory; the
        # file itself is synced, and that is the most they offer.
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP):
            raise
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _reason(exc: OSError) -> str:
    return "a symbolic link is in the way" if exc.errno == errno.ELOOP else (exc.strerror or str(exc))


def _remove_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        return

"""Export: every report the server still holds, sealed as it is, into one bundle for the staff.

The bundle (format in crypto/staff/bundle.py) holds nothing but the sealed reports and a manifest of
ids, hashes and days: no timestamps, owners or sizes beyond what the ciphertext already shows.
It is written to a temp file beside the target, synced and renamed into place, so a removable
medium pulled out too early holds either the old file or the complete new one, never half a
bundle. Exporting deletes nothing: reports are only flagged as exported, and an export includes
everything not yet purged, so a bundle lost on the way is replaced by simply exporting again.
"""

from __future__ import annotations

import errno
import os
import tempfile
from dataclasses import dataclass

from crypto.errors import Error
from crypto.staff.bundle import BundleWriter
from onion_service.store import Store

# Reports are streamed from the database in chunks and written through this buffer, so memory
# stays flat for any number of reports (the manifest, ~125 bytes a report, is the only list kept).
_BUFFER = 1 << 20


class ExportError(Error):
    """The bundle could not be written; no bundle was left behind and nothing was flagged."""


@dataclass(frozen=True)
class ExportResult:
    reports: int
    previously_exported: int  # of those, how many an earlier export already carried


def _fsync_dir(directory: str) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    except OSError as exc:
        # Some file systems on removable media (vfat, some FUSE) cannot sync a directory; the
        # file itself is synced, and that is the most they offer.
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP):
            raise
    finally:
        os.close(fd)


def export_bundle(store: Store, out_path: str) -> ExportResult:
    target = os.path.abspath(out_path)
    directory = os.path.dirname(target)
    if os.path.lexists(target):
        raise ExportError(f"{out_path} already exists; choose a new name (nothing was exported)")
    if not os.path.isdir(directory):
        raise ExportError(f"{directory} is not a directory (nothing was exported)")
    previously = store.count(exported=True)
    try:
        fd, temp = tempfile.mkstemp(prefix=".meldpunt-export-", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise ExportError(f"cannot write in {directory}: {exc.strerror}") from None
    ids: list[bytes] = []
    try:
        with os.fdopen(fd, "wb", buffering=_BUFFER) as f:
            writer = BundleWriter(f)
            for stored in store.pending():
                writer.add(stored.id, stored.sealed, stored.day)
                ids.append(stored.id)
            writer.finish()
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, target)
        _fsync_dir(directory)
    except OSError as exc:
        _remove(temp)
        raise ExportError(f"cannot write the bundle {out_path}: {exc.strerror} (nothing was exported)") from None
    except BaseException:
        _remove(temp)
        raise
    # Flagged only once the bundle is safely on the medium. The flag tells the sysadmin what has
    # gone out; it never excludes a report from the next export.
    store.mark_exported(ids)
    return ExportResult(len(ids), min(previously, len(ids)))


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        return

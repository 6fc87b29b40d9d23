"""Export: every report the server still holds, sealed as it is, into one bundle for the staff.

The bundle (format in crypto/staff/bundle.py) holds nothing but the sealed reports and a manifest of
ids, hashes and days: no timestamps, owners or sizes beyond what the ciphertext already shows.
It is written to a temp file beside the target, synced and renamed into place, so a removable
medium pulled out too early holds either the old file or the complete new one, never half a
bundle. Exporting deletes nothing: reports are only flagged as exported, and an export includes
everything not yet purged, so a bundle lost on the way is replaced by simply exporting again.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from crypto import files
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


def export_bundle(store: Store, out_path: str) -> ExportResult:
    target = os.path.abspath(out_path)
    directory = os.path.dirname(target)
    if os.path.lexists(target):
        raise ExportError(f"{out_path} already exists; choose a new name (nothing was exported)")
    if not os.path.isdir(directory):
        raise ExportError(f"{directory} is not a directory (nothing was exported)")
    previously = store.count(exported=True)
    ids: list[bytes] = []
    with files.atomic_file(
        target, error=ExportError, what=f"the bundle {out_path}", note=" (nothing was exported)", buffering=_BUFFER
    ) as f:
        writer = BundleWriter(f)
        for stored in store.pending():
            writer.add(stored.id, stored.sealed, stored.day)
            ids.append(stored.id)
        writer.finish()
    # Flagged only once the bundle is safely on the medium. The flag tells the sysadmin what has
    # gone out; it never excludes a report from the next export.
    store.mark_exported(ids)
    return ExportResult(len(ids), min(previously, len(ids)))

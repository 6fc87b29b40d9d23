"""The opened-reports folder: DIR, and in it one JSON record a report, DIR/reports/<id>.json.

This module is the only one that writes or reads the record files, so that `meldpunt open` (which
writes them and rebuilds the overview from all of them) and `meldpunt find` (which searches
them) agree on what a record is: crypto/staff/record.py, which also gives its JSON form.

Files are written through a temp file and a rename, never following a symbolic link, with
names built from validated ids only. A file read back counts as a record only if its report
passes the schema's strict check, so that a file edited by hand cannot break the views.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Iterator

from crypto import files
from crypto.errors import Error
from crypto.staff.record import Record, from_json

REPORTS = "reports"
# A record is a few KB (the form bounds every field); 1 MiB is far past any real one and keeps
# a wrong, huge file from being read whole.
MAX_RECORD_BYTES = 1 << 20
_NAME = re.compile(r"([0-9a-f]{32})\.json")


class FolderError(Error):
    """DIR or DIR/reports cannot be used, read or written."""


def prepare(out_dir: str) -> str:
    """Creates DIR and DIR/reports (mode 0700) if needed; returns the path of DIR/reports."""
    reports = os.path.join(out_dir, REPORTS)
    _private_dir(out_dir)
    _private_dir(reports)
    return reports


def _private_dir(path: str) -> None:
    files.private_dir(path, error=FolderError)


def write_file(directory: str, name: str, data: bytes) -> None:
    """Writes directory/name atomically; never follows a symbolic link (crypto/files.py)."""
    files.atomic_write(os.path.join(directory, name), data, error=FolderError)


def write_record(reports_dir: str, record: Record) -> None:
    # ASCII-only JSON: no control or bidi character reaches a terminal that prints the file.
    data = (json.dumps(record.to_json(), ensure_ascii=True, indent=2) + "\n").encode("ascii")
    write_file(reports_dir, f"{record.id}.json", data)


def iter_records(reports_dir: str, skip: Iterable[str] = ()) -> Iterator[tuple[str, Record | None]]:
    """(file name, record) for each record file in name order, except the ids in `skip`; the
    record is None for a file that is not one meldpunt wrote."""
    skip = set(skip)
    try:
        names = sorted(os.listdir(reports_dir))
    except OSError as exc:
        raise FolderError(f"cannot read {reports_dir}: {exc.strerror}") from None
    for name in names:
        m = _NAME.fullmatch(name)
        if m is not None and m.group(1) not in skip:
            yield name, _read_record(os.path.join(reports_dir, name), m.group(1))


def _read_record(path: str, rid: str) -> Record | None:
    try:
        with open(path, "rb") as f:
            parsed = json.loads(f.read(MAX_RECORD_BYTES))
    except (OSError, ValueError):
        return None
    return from_json(parsed, rid)

"""Finding an opened report by its receipt code, and showing it on a terminal.

A reporter who writes back quotes the receipt code the form gave them; staff type it in as they
read it (any case, with or without dashes) and `meldpunt find` looks through DIR/reports.
"""

from __future__ import annotations

import os

from crypto.envelope.receipt import normalise_receipt
from crypto.errors import Error
from crypto.staff import folder
from crypto.staff.display import visible
from crypto.staff.fields import FIELD, SHOWN, Source
from crypto.staff.record import Record

_INDENT = 14  # a label and its colon, padded so that the values line up


class NotFoundError(Error):
    """No opened report has the receipt code asked for."""


def find_by_receipt(out_dir: str, receipt: str) -> list[Record]:
    """Every record in DIR/reports whose receipt matches; NotFoundError if there is none."""
    wanted = normalise_receipt(receipt)
    reports_dir = os.path.join(out_dir, folder.REPORTS)
    try:
        # A record's receipt is in canonical form: the schema's strict check has seen to it.
        # Files that are not records are passed over; `meldpunt open` warned about them.
        found = [
            record
            for _, record in folder.iter_records(reports_dir)
            if record is not None and record.report.receipt == wanted
        ]
    except folder.FolderError as exc:
        raise NotFoundError(f"{exc} (was a bundle opened there?)") from None
    if not found:
        raise NotFoundError(f"no opened report in {out_dir} has the receipt code {wanted}")
    return found


def _line(label: str, text: str) -> str:
    return f"{label + ':':<{_INDENT}}{visible(text)}"


def format_record(record: Record, out_dir: str) -> str:
    """A report as plain text for a terminal; every value made visible and inert."""
    lines = field_lines(record)
    rid = visible(record.id)
    lines += [
        _line("File", os.path.join(out_dir, folder.REPORTS, rid + ".json")),
        _line("Overview", os.path.join(out_dir, "index.html")) + f"#r-{rid}",
    ]
    return "\n".join(lines)


def field_lines(record: Source, *, indent: int = _INDENT) -> list[str]:
    """A record's fields, from the one field table, as terminal lines: labels padded to `indent`,
    every value made visible and inert, the danger warning above the addresses."""

    def line(label: str, text: str) -> str:
        return f"{label + ':':<{indent}}{visible(text)}"

    lines = []
    for field in SHOWN:
        if field.key == "urls":
            if FIELD["child_in_danger"].value(record):
                lines.append("!! The reporter says a child is in immediate danger.")
            urls = field.value(record) or [field.empty]
            lines.append(line(field.label, urls[0]))
            lines += [" " * indent + visible(u) for u in urls[1:]]
        elif field.multiline:
            lines.append(f"{field.label}:")
            lines += ["  " + text for text in visible(field.shown(record), keep_newlines=True).split("\n")]
        else:
            lines.append(line(field.label, field.shown(record)))
    return lines

"""An opened report as the staff side holds it, from opening to writing: the report as sealed,
and what the bundle's manifest said of it.

A record is made once, where a report is opened (crypto/staff/workers.py), and passed as it is to
the folder (crypto/staff/folder.py), the overview and the listings, and the case file's import.
Its JSON form, the one in DIR/reports/<id>.json,

    {"id": "<32 hex>", "day": "YYYY-MM-DD", "sha256": "<64 hex>", "report": {the report's fields}}

is made and read here alone; the report's fields are the schema's (crypto/envelope/report.py
`as_fields`/`from_fields`), so a record read back is held to the same strict check as a report
opened from its envelope.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crypto.envelope import report as report_schema
from crypto.envelope.report import Report
from crypto.errors import Error


@dataclass(frozen=True)
class Record:
    id: str  # the server's report id, from the manifest (32 hex)
    day: str  # the day the server says it received the report (ISO); the sealed one is report.received_on
    sha256: str  # of the sealed bytes, as the manifest lists it and the acknowledgement repeats it
    report: Report

    def answer(self, key: str) -> Any:
        """A report field by name, for the field table (crypto/staff/fields.py)."""
        return getattr(self.report, key)

    def ack_entry(self) -> tuple[str, str, str]:
        """What the acknowledgement lists for this record (crypto/staff/ack.py `format_ack`): its id,
        the sealed bytes' SHA-256 and the purge secret found inside ("" for a version 1 report)."""
        return self.id, self.sha256, self.report.purge_secret

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "day": self.day, "sha256": self.sha256, "report": report_schema.as_fields(self.report)}


def from_json(obj: object, rid: str) -> Record | None:
    """The record a parsed file holds, if it is one meldpunt wrote under the id `rid`; else None."""
    if not (
        isinstance(obj, dict)
        and obj.get("id") == rid
        and isinstance(obj.get("day"), str)
        and isinstance(obj.get("sha256"), str)
    ):
        return None
    try:
        report = report_schema.from_fields(obj.get("report"))
    except Error:
        return None
    return Record(rid, obj["day"], obj["sha256"], report)

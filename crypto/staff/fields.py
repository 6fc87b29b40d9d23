"""The fields of an opened report, once, for every view of it: the page (index.html), the CSV
(reports.csv) and the terminal (`meldpunt find`).

The table's order is the CSV's column order and the order in which people read the fields.
A field with no label is not shown to people as a line of its own: the views show the id, the
receipt and the danger flag in their own places, and the report's received_on is the record's day.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Field:
    key: str  # in the record's "report", or in the record itself when of_record
    column: str  # the CSV column
    label: str = ""  # how people read it; "" for a field the views place themselves
    of_record: bool = False
    empty: str = ""  # shown to people in place of an empty value
    multiline: bool = False  # line breaks are kept when shown (a description's paragraphs)

    def value(self, record: Mapping[str, Any]) -> Any:
        return (record if self.of_record else record["report"]).get(self.key, "")

    def text(self, record: Mapping[str, Any], *, joiner: str = ", ") -> str:
        """The value as text: a list joined, a yes/no for a flag."""
        value = self.value(record)
        if isinstance(value, bool):
            return "yes" if value else "no"
        if isinstance(value, (list, tuple)):
            return joiner.join(str(v) for v in value)
        return str(value)

    def shown(self, record: Mapping[str, Any]) -> str:
        """The text people read, not yet made visible or escaped."""
        return self.text(record) or self.empty


FIELDS = (
    Field("id", "id", of_record=True),
    Field("receipt", "receipt", "Receipt"),
    Field("day", "day", "Received", of_record=True),
    Field("received_on", "received_on"),
    Field("urls", "url", "URLs", empty="(none given)"),
    Field("found_on", "found_on", "Found on"),
    Field("kinds", "kinds", "Content"),
    Field("access", "access", "Access"),
    Field("seen_on", "seen_on", "Seen on", empty="(not given)"),
    Field("child_in_danger", "child_in_danger"),
    Field("language", "language", "Language"),
    Field("contact", "contact", "Contact", empty="(none)"),
    Field("description", "description", "Description", empty="(none)", multiline=True),
    # Since report version 3 (last, so that the CSV's earlier columns keep their places).
    Field("channel", "channel", "Channel", empty="(not recorded)"),
    Field("via", "via", "Filled in by", empty="(no mark)"),
    Field("campaign", "campaign", "Campaign", empty="(none)"),
)
# The fields shown as labelled lines, in reading order.
SHOWN = tuple(f for f in FIELDS if f.label)
FIELD = {f.key: f for f in FIELDS}

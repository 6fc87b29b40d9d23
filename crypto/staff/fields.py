"""The fields of an opened report, once, for every view of it: the page (index.html), the CSV
(reports.csv) and the terminal (`meldpunt find`).

The table's order is the CSV's column order and the order in which people read the fields.
A field with no label is not shown to people as a line of its own: the views show the id, the
receipt and the danger flag in their own places, and the report's received_on is the record's day.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol


class Source(Protocol):
    """What a view reads the fields from: an opened record (crypto/staff/record.py), or a report's
    answers as the case file keeps them (`Answers`)."""

    @property
    def id(self) -> str: ...
    @property
    def day(self) -> str: ...
    def answer(self, key: str) -> Any: ...


@dataclass(frozen=True)
class Answers:
    """A report's answers as the case file stores them (crypto/case/importing.py): the report's JSON
    object, which retention may have emptied of some fields (crypto/case/retention.py), so a field
    that is gone reads as ""."""

    id: str
    day: str
    values: Mapping[str, Any]

    @classmethod
    def stored(cls, rid: str, day: str, text: str) -> Answers:
        """The answers as the case file's reports.fields column holds them: the report's JSON object."""
        return cls(rid, day, json.loads(text))

    def answer(self, key: str) -> Any:
        return self.values.get(key, "")


@dataclass(frozen=True)
class Field:
    key: str  # a report field's name, or the record's own (id, day) when of_record
    column: str  # the CSV column
    label: str = ""  # how people read it; "" for a field the views place themselves
    of_record: bool = False
    empty: str = ""  # shown to people in place of an empty value
    multiline: bool = False  # line breaks are kept when shown (a description's paragraphs)

    def value(self, record: Source) -> Any:
        return getattr(record, self.key) if self.of_record else record.answer(self.key)

    def text(self, record: Source, *, joiner: str = ", ") -> str:
        """The value as text: a list joined, a yes/no for a flag."""
        value = self.value(record)
        if isinstance(value, bool):
            return "yes" if value else "no"
        if isinstance(value, (list, tuple)):
            return joiner.join(str(v) for v in value)
        return str(value)

    def shown(self, record: Source) -> str:
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

"""Address ids as analysts type and paste them: `14`, `14-20`, `14,15,20-22`, or one a line in a file.

A file (or standard input, `-`) holds ids separated by white space or commas, with the same ranges;
a line starting with # is a comment, and a CSV that `case queue --format csv` wrote is read by its
`case_id` column, so a filtered queue can be fed straight into `case status` or `case seen`.
Every id is checked before anything is written; a range is bounded so a typo such as `14-200000`
cannot reach the whole case file (decisions.MAX_ADDRESSES bounds the total as well).
"""

from __future__ import annotations

import csv
import io
import re

from crypto.case.decisions import MAX_ADDRESSES
from crypto.case.errors import InputError

_ITEM = re.compile(r"([1-9][0-9]{0,11})(?:-([1-9][0-9]{0,11}))?")
MAX_TEXT = 1 << 20  # bytes of ids read from a file: far above MAX_ADDRESSES ids


def parse(items: list[str]) -> list[int]:
    """The ids of `14`, `14-20` and `14,15` items, in order, each once."""
    ids: list[int] = []
    for item in items:
        for part in filter(None, (p.strip() for p in item.split(","))):
            m = _ITEM.fullmatch(part)
            if m is None:
                raise InputError(f"{part!r} is not an address id or a range such as 14-20")
            first, last = int(m[1]), int(m[2] or m[1])
            if last < first:
                raise InputError(f"the range {part} runs backwards")
            if last - first >= MAX_ADDRESSES:
                raise InputError(f"the range {part} holds more than {MAX_ADDRESSES} addresses")
            ids += range(first, last + 1)
    ids = list(dict.fromkeys(ids))
    if len(ids) > MAX_ADDRESSES:
        raise InputError(f"at most {MAX_ADDRESSES} addresses at once")
    return ids


def parse_text(text: str) -> list[int]:
    """The ids in a file's text: a queue CSV by its case_id column, otherwise ids and ranges."""
    if len(text) > MAX_TEXT:
        raise InputError(f"the list of ids is longer than {MAX_TEXT} characters")
    first_line = text.lstrip("\ufeff").split("\n", 1)[0]
    if "case_id" in first_line.split(","):
        rows = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
        return parse([row.get("case_id") or "" for row in rows])
    items = [word for line in text.splitlines() if not line.lstrip().startswith("#") for word in line.split()]
    return parse(items)

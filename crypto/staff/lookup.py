"""Finding an opened report by its receipt code, and showing it on a terminal.

A reporter who writes back quotes the receipt code the form gave them; staff type it in as they
read it (any case, with or without dashes) and `meldpunt find` looks through DIR/reports.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

from crypto.envelope.errors import ReceiptError
from crypto.envelope.receipt import normalise_receipt
from crypto.errors import Error
from crypto.staff.display import visible

_JSON_NAME = re.compile(r"[0-9a-f]{32}\.json")


class NotFoundError(Error):
    """No opened report has the receipt code asked for."""


def find_by_receipt(out_dir: str, receipt: str) -> list[dict[str, Any]]:
    """Every record in DIR/reports whose receipt matches; NotFoundError if there is none."""
    wanted = normalise_receipt(receipt)
    reports_dir = os.path.join(out_dir, "reports")
    try:
        names = sorted(n for n in os.listdir(reports_dir) if _JSON_NAME.fullmatch(n))
    except OSError as exc:
        raise NotFoundError(f"cannot read {reports_dir}: {exc.strerror} (was a bundle opened there?)") from None
    found = []
    for name in names:
        try:
            with open(os.path.join(reports_dir, name), "rb") as f:
                record = json.loads(f.read(1 << 20))
            code = record["report"]["receipt"]
            if normalise_receipt(code) == wanted:
                found.append(record)
        except (OSError, ValueError, KeyError, TypeError, ReceiptError):
            continue  # not a file `meldpunt open` wrote; the overview warned about it
    if not found:
        raise NotFoundError(f"no opened report in {out_dir} has the receipt code {wanted}")
    return found


def format_record(record: dict[str, Any], out_dir: str) -> str:
    """A report as plain text for a terminal; every value made visible and inert."""
    r = record["report"]

    def v(value: object) -> str:
        return visible(str(value))

    lines = [
        f"Receipt:      {v(r.get('receipt', ''))}",
        f"Received:     {v(record.get('day', ''))}",
    ]
    if r.get("child_in_danger"):
        lines.append("!! The reporter says a child is in immediate danger.")
    urls = r.get("urls") or ["(none given)"]
    lines.append(f"URLs:         {v(urls[0])}")
    lines += [f"              {v(u)}" for u in urls[1:]]
    lines += [
        f"Found on:     {v(r.get('found_on', ''))}",
        f"Content:      {v(', '.join(r.get('kinds', [])))}",
        f"Access:       {v(r.get('access', ''))}",
        f"Seen on:      {v(r.get('seen_on', '') or '(not given)')}",
        f"Language:     {v(r.get('language', ''))}",
        f"Contact:      {v(r.get('contact', '') or '(none)')}",
        "Description:",
    ]
    description = visible(str(r.get("description", "") or "(none)"), keep_newlines=True)
    lines += ["  " + line for line in description.split("\n")]
    lines += [
        f"File:         {os.path.join(out_dir, 'reports', v(record.get('id', '')) + '.json')}",
        f"Overview:     {os.path.join(out_dir, 'index.html')}#r-{v(record.get('id', ''))}",
    ]
    return "\n".join(lines)

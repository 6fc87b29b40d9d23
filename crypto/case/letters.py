"""Notice-and-takedown letters: one plain-text letter per hosting provider, from crypto/case/letter_texts.py.

A letter lists the addresses with the chosen status whose assessment says they are illegal and
names that provider (as the analyst typed it, compared without regard to case or spacing).
Addresses are written as text, one a line, with invisible and direction-changing characters
shown as marks (crypto/staff/display.py): the provider must read exactly what was assessed.
Letters are plain text, never HTML, so there is nothing in them to click.
"""

from __future__ import annotations

import re
import sqlite3
from collections import defaultdict
from dataclasses import dataclass

from crypto.case.decisions import ILLEGAL, today
from crypto.case.errors import InputError
from crypto.case.letter_texts import LETTERS
from crypto.case.queue import every_address
from crypto.staff.display import visible

MAX_SENDER = 200
_SLUG = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class Letter:
    file_name: str
    provider: str
    address_ids: list[int]
    text: str


def letters(
    conn: sqlite3.Connection, *, status: str, language: str, sender: str, day: str | None = None
) -> list[Letter]:
    if language not in LETTERS:
        raise InputError(f"no letter in {language!r}; one of {', '.join(sorted(LETTERS))}")
    sender = sender.strip()
    if not sender or len(sender) > MAX_SENDER or visible(sender) != sender:
        raise InputError("the sender is the hotline's name, one plain line")
    day = day or today()
    groups: dict[str, list] = defaultdict(list)
    names: dict[str, str] = {}
    for address in every_address(conn, status):
        a = address.assessment
        if a is None or a["verdict"] not in ILLEGAL:
            continue
        provider = " ".join(a["provider"].split())
        if not provider:
            continue  # nobody to write to until the analyst finds the host
        key = provider.casefold()
        names.setdefault(key, provider)
        groups[key].append(address)
    out = []
    for n, key in enumerate(sorted(groups), start=1):
        addresses = sorted(groups[key], key=lambda a: a.id)
        text = LETTERS[language].substitute(
            sender=sender, provider=names[key], day=day, count=len(addresses),
            addresses="\n".join(f"  {visible(a.url)}" for a in addresses),
        )
        slug = _SLUG.sub("-", key.lower()).strip("-")[:40] or "provider"
        out.append(Letter(f"{n:03d}-{slug}-{language}.txt", names[key], [a.id for a in addresses], text))
    return out

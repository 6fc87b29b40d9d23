"""Notice-and-takedown letters as a workflow: one plain-text letter per hosting provider, each
with its reference and the hotline's reply address, stable file names, the addresses no letter
can carry listed with the reason, and `--mark-sent` recording exactly what was written.

A letter lists the addresses with the chosen status (on any track, crypto/case/tracks.py) whose
assessment says they are illegal and names that provider (as the analyst typed it, compared
without regard to case or spacing). An address is refused, and listed with why, when it has no
provider yet, or when no hosting provider can take it down: an onion address (the host is
hidden by design) or a torrent's info-hash (it lives on every peer); those go to the police.

The reference names the letter's content: the prefix, the day, and a digest of the provider and
the address ids, so writing the same letters again the same day gives the same references and
file names (`<reference>-<provider>-<lang>.txt`), and a different set of addresses a different
one. Addresses follow the one display rule (crypto/case/display.py): the provider reads exactly
what was assessed, in a form it can look up. Letters are plain text, so there is nothing to click.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
import tomllib
from collections import defaultdict
from dataclasses import dataclass

from crypto.case.decisions import ILLEGAL, today
from crypto.case.display import line as address_line
from crypto.case.errors import InputError
from crypto.case.letter_texts import LETTERS
from crypto.case.queue import Address, in_state
from crypto.staff.display import visible

MAX_SENDER = 200
MAX_CONFIG = 64 * 1024  # bytes of the letters' configuration file: a few lines
_SLUG = re.compile(r"[^a-z0-9]+")
_PREFIX = re.compile(r"[A-Z][A-Z0-9]{0,9}")
# A reply address: one plain e-mail address (what providers' abuse desks answer to).
_REPLY_TO = re.compile(r"[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,190}\.[A-Za-z]{2,24}")
FILE_NAME = re.compile(r"[A-Z][A-Z0-9]{0,9}-[0-9]{8}-[0-9A-F]{8}-[a-z0-9-]{1,40}-(en|nl|fr|de)\.txt")
INDEX = "index.txt"


@dataclass(frozen=True)
class Settings:
    sender: str
    reply_to: str
    prefix: str = "NTD"


@dataclass(frozen=True)
class Letter:
    file_name: str
    reference: str
    provider: str
    address_ids: list[int]
    text: str


@dataclass(frozen=True)
class Refused:
    address_id: int
    url: str
    reason: str


@dataclass(frozen=True)
class Batch:
    letters: list[Letter]
    refused: list[Refused]

    def index(self) -> str:
        """index.txt: what was written and what was not, for the file and the analyst."""
        lines = [
            f"{letter.file_name}  {letter.reference}  {visible(letter.provider)}  addresses "
            f"{' '.join(map(str, letter.address_ids))}"
            for letter in self.letters
        ]
        lines += [f"refused  address {r.address_id}  {address_line(r.url)}  {r.reason}" for r in self.refused]
        return "\n".join(lines) + "\n"


def settings(config_path: str | None, sender: str | None, reply_to: str | None, prefix: str | None) -> Settings:
    """The sender, reply address and reference prefix: the [letters] table of the configuration
    file, each overridden by its option; every value checked."""
    table: dict = {}
    if config_path is not None:
        try:
            with open(config_path, "rb") as f:
                raw = f.read(MAX_CONFIG + 1)
            if len(raw) > MAX_CONFIG:
                raise InputError(f"{config_path} is longer than {MAX_CONFIG} bytes")
            table = tomllib.loads(raw.decode("utf-8")).get("letters", {})
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise InputError(f"the letters' configuration {config_path} cannot be read: {exc}") from None
        if not isinstance(table, dict):
            raise InputError(f"{config_path}: [letters] must be a table")
    sender = sender if sender is not None else table.get("sender")
    reply_to = reply_to if reply_to is not None else table.get("reply_to")
    prefix = prefix if prefix is not None else table.get("reference_prefix", "NTD")
    if not isinstance(sender, str) or not sender.strip() or len(sender) > MAX_SENDER or visible(sender) != sender:
        raise InputError("the sender is the hotline's name, one plain line (--sender, or sender in [letters])")
    if not isinstance(reply_to, str) or not _REPLY_TO.fullmatch(reply_to.strip()):
        raise InputError("the reply address is one e-mail address (--reply-to, or reply_to in [letters])")
    if not isinstance(prefix, str) or not _PREFIX.fullmatch(prefix):
        raise InputError("the reference prefix is up to ten capital letters and digits, such as NTD")
    return Settings(sender.strip(), reply_to.strip(), prefix)


def refusal(a: Address) -> str | None:
    """Why no hosting provider can be written to about this address, or None."""
    if a.key.startswith(("btih:", "btmh:", "magnet:")):
        return "a torrent's info-hash: no host can take it down (refer it to the police)"
    host = a.key.split("://", 1)[-1].split("/", 1)[0].split("@")[-1].split(":")[0]
    if host.endswith(".onion"):
        return "an onion address: its host is hidden, no provider can take it down (refer it to the police)"
    if not " ".join((a.assessment or {}).get("provider", "").split()):
        return "no hosting provider recorded yet (`case assess --provider`)"
    return None


def letters(
    conn: sqlite3.Connection, *, status: str, language: str, settings: Settings, day: str | None = None
) -> Batch:
    if language not in LETTERS:
        raise InputError(f"no letter in {language!r}; one of {', '.join(sorted(LETTERS))}")
    day = day or today()
    groups: dict[str, list[Address]] = defaultdict(list)
    names: dict[str, str] = {}
    refused = []
    for address in in_state(conn, status):
        a = address.assessment
        if a is None or a["verdict"] not in ILLEGAL:
            continue
        reason = refusal(address)
        if reason is not None:
            refused.append(Refused(address.id, address.url, reason))
            continue
        provider = " ".join(a["provider"].split())
        key = provider.casefold()
        names.setdefault(key, provider)
        groups[key].append(address)
    out = []
    for key in sorted(groups):
        addresses = sorted(groups[key], key=lambda a: a.id)
        ids = [a.id for a in addresses]
        digest = hashlib.sha256(f"{key}\n{' '.join(map(str, ids))}".encode()).hexdigest()[:8].upper()
        reference = f"{settings.prefix}-{day.replace('-', '')}-{digest}"
        text = LETTERS[language].substitute(
            sender=settings.sender,
            provider=names[key],
            day=day,
            count=len(addresses),
            reference=reference,
            reply_to=settings.reply_to,
            addresses="\n".join(f"  {address_line(a.url)}" for a in addresses),
        )
        slug = _SLUG.sub("-", key.lower()).strip("-")[:40] or "provider"
        out.append(Letter(f"{reference}-{slug}-{language}.txt", reference, names[key], ids, text))
    return Batch(out, sorted(refused, key=lambda r: r.address_id))

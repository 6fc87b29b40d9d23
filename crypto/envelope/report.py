"""The report's schema, shared by the server that seals it and the offline side that reads it.

`encode` gives canonical UTF-8 JSON (sorted keys, no spaces), so that equal reports give equal
bytes. `decode` is strict: a sealed report is trusted only as far as this module checks it, and
staff tools should fail loudly on anything they do not understand rather than guess.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import json
import re
from dataclasses import dataclass

from crypto.envelope.errors import ReceiptError, ReportError
from crypto.envelope.language import is_language_tag
from crypto.envelope.purge_secret import is_purge_secret, new_purge_secret
from crypto.envelope.receipt import normalise_receipt

# 2: the report carries a purge secret (crypto/envelope/purge_secret.py). Version 1 reports, sealed
# before it existed, still open: with exactly version 1's fields and no secret.
# 3: the report carries how it came (channel, via) and a campaign tag, for the hotline's numbers
# (crypto/case/stats.py). Versions 1 and 2 still open, with those three fields empty.
VERSION = 3
PURGE_VERSION = 2
LEGACY_VERSION = 1
OLD_VERSIONS = (PURGE_VERSION, LEGACY_VERSION)

# The site the report was sent on: the onion service, or the hotline's HTTPS name.
CHANNELS = ("onion", "https")
# What filled in the form, when the reporter kept it ticked: the browser extension.
VIAS = ("", "extension")
# A campaign tag, as campaign links carry it (/nl/?c=lockdown-2020): lowercase letters, digits
# and inner hyphens, at most 32 characters. Short and plain on purpose: it is a label the hotline
# chose for a campaign, not a place for text, and a long or free-form tag could be made unique
# per recipient and so single out a reporter. The reporter sees it on the form and can untick it.
MAX_CAMPAIGN = 32
CAMPAIGN = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?")

# Where the reporter found the material, in the order the form offers them.
FOUND_ON = (
    "website",
    "image_host",
    "forum",
    "social",
    "chat",
    "p2p",
    "newsgroup",
    "email",
    "game",
    "onion",
    "other",
)
# What the material is; a report may name several.
KINDS = ("images", "videos", "livestream", "text", "drawn", "other")
# The form accepts at most this many addresses in one report (the bound); decode holds
# stored reports to the same bound so that a forged one cannot smuggle in more.
MAX_URLS = 20


@dataclass(frozen=True)
class Report:
    urls: tuple[str, ...]
    found_on: str
    kinds: tuple[str, ...]
    access: str
    seen_on: str  # "" or an ISO day
    description: str
    child_in_danger: bool
    contact: str
    language: str
    receipt: str
    received_on: str  # ISO day (UTC); never a time of day
    # A new report gets a fresh secret; "" only in a version 1 report.
    purge_secret: str = dataclasses.field(default_factory=new_purge_secret)
    # "" only in a version 1 or 2 report, which did not record them.
    channel: str = "onion"
    via: str = ""
    campaign: str = ""
    version: int = VERSION

    @functools.cached_property
    def _canonical(self) -> bytes:
        # Made once per report, on first use (`encode`): a Report is frozen, so its bytes never
        # change, and the server needs them twice (validate checks their size, seal frames them).
        _check(self)
        return json.dumps(as_fields(self), ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


_FIELDS = {f.name: f for f in dataclasses.fields(Report)}
_ORIGIN = {"channel", "via", "campaign"}
# The fields each older version has, exactly.
_VERSION_FIELDS = {
    VERSION: frozenset(_FIELDS),
    PURGE_VERSION: frozenset(_FIELDS) - _ORIGIN,
    LEGACY_VERSION: frozenset(_FIELDS) - _ORIGIN - {"purge_secret"},
}
# Each version's fields in the dataclass's order: the order `as_fields` gives them in.
_VERSION_ORDER = {v: tuple(n for n in _FIELDS if n in names) for v, names in _VERSION_FIELDS.items()}
_STRINGS = (
    "found_on",
    "access",
    "seen_on",
    "description",
    "contact",
    "language",
    "receipt",
    "received_on",
    "purge_secret",
    "channel",
    "via",
    "campaign",
)


def is_campaign(tag: str) -> bool:
    return isinstance(tag, str) and CAMPAIGN.fullmatch(tag) is not None


def encode(report: Report) -> bytes:
    """Canonical UTF-8 JSON of a report; checks it first, so that nothing undecodable is sealed."""
    return report._canonical


def as_fields(report: Report) -> dict[str, object]:
    """The report as a JSON object: the fields its version holds, lists for the tuples. What `encode`
    writes, and what the staff side keeps (crypto/staff/record.py, crypto/case/importing.py)."""
    # Field by field rather than dataclasses.asdict, which deep-copies every value: this is on
    # the server's path for every report.
    data: dict[str, object] = {name: getattr(report, name) for name in _VERSION_ORDER[report.version]}
    data["urls"] = list(report.urls)
    data["kinds"] = list(report.kinds)
    return data


def decode(data: bytes) -> Report:
    """The report in `data`; raises ReportError unless it is exactly what `encode` produces."""
    try:
        text = data.decode("utf-8")
        obj = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ReportError(f"report is not UTF-8 JSON: {exc}") from None
    return from_fields(obj)


def from_fields(parsed: object) -> Report:
    """The report a parsed JSON object holds; raises ReportError unless it is exactly what
    `as_fields` gives. `parsed` is left as it was."""
    if not isinstance(parsed, dict):
        raise ReportError("report is not a JSON object")
    obj = dict(parsed)
    version = obj.get("version")
    # An unknown version is checked against this version's fields, then refused by _check.
    expected = _VERSION_FIELDS[VERSION]
    if type(version) is int:
        expected = _VERSION_FIELDS.get(version, expected)
    if set(obj) != expected:
        missing = sorted(expected - set(obj))
        unknown = sorted(set(obj) - expected)
        raise ReportError(f"report fields differ: missing {missing}, unknown {unknown}")
    for name in ("urls", "kinds"):
        if not isinstance(obj[name], list):
            raise ReportError(f"report field {name} is not a list")
        obj[name] = tuple(obj[name])
    if version in OLD_VERSIONS:
        obj.update({"channel": "", "via": "", "campaign": ""})
    if version == LEGACY_VERSION:
        obj["purge_secret"] = ""
    report = Report(**obj)
    _check(report)
    return report


def _check(report: Report) -> None:
    if type(report.version) is not int or report.version not in _VERSION_FIELDS:
        raise ReportError(f"unknown report version {report.version!r}")
    if report.version != LEGACY_VERSION and not is_purge_secret(report.purge_secret):
        raise ReportError("report field purge_secret is not 64 lowercase hex digits")
    if report.version == LEGACY_VERSION and report.purge_secret != "":
        raise ReportError("a version 1 report has no purge secret")
    for name in _STRINGS:
        if not isinstance(getattr(report, name), str):
            raise ReportError(f"report field {name} is not a string")
    if report.version in OLD_VERSIONS:
        if report.channel or report.via or report.campaign:
            raise ReportError(f"a version {report.version} report has no channel, via or campaign")
    else:
        if report.channel not in CHANNELS:
            raise ReportError(f"unknown channel {report.channel!r}")
        if report.via not in VIAS:
            raise ReportError(f"unknown via {report.via!r}")
        if report.campaign and not is_campaign(report.campaign):
            raise ReportError("report field campaign is not a campaign tag (a-z, 0-9, inner -, at most 32)")
    if not isinstance(report.urls, tuple) or not all(isinstance(u, str) and u for u in report.urls):
        raise ReportError("report field urls is not a list of addresses")
    if not 1 <= len(report.urls) <= MAX_URLS:
        raise ReportError(f"a report holds 1 to {MAX_URLS} addresses")
    if type(report.child_in_danger) is not bool:
        raise ReportError("report field child_in_danger is not a boolean")
    if report.found_on not in FOUND_ON:
        raise ReportError(f"unknown found_on code {report.found_on!r}")
    if not isinstance(report.kinds, tuple) or not report.kinds:
        raise ReportError("report field kinds is empty")
    if any(k not in KINDS for k in report.kinds) or len(set(report.kinds)) != len(report.kinds):
        raise ReportError("report field kinds holds unknown or repeated codes")
    # Any well-formed tag: the languages a server offers change, and old reports must still open.
    if not is_language_tag(report.language):
        raise ReportError(f"report field language is not a language tag: {report.language!r}")
    _check_day("received_on", report.received_on)
    if report.seen_on:
        _check_day("seen_on", report.seen_on)
    try:
        canonical = normalise_receipt(report.receipt)
    except ReceiptError as exc:
        raise ReportError(f"report field receipt: {exc}") from None
    if canonical != report.receipt:
        raise ReportError("report field receipt is not in canonical form")


def _check_day(name: str, value: str) -> None:
    try:
        day = datetime.date.fromisoformat(value)
    except ValueError:
        raise ReportError(f"report field {name} is not an ISO day") from None
    # fromisoformat also takes forms such as 20240101; a stored day has exactly one spelling.
    if day.isoformat() != value:
        raise ReportError(f"report field {name} is not an ISO day (YYYY-MM-DD)")


def _no_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise ValueError("duplicate key")
    return obj


def _no_constants(name: str) -> object:
    raise ValueError(f"{name} is not JSON")

"""Turns the submitted fields into a `crypto.envelope.report.Report`, or into messages tied to fields.

Addresses are checked for syntax only: the server never fetches, resolves or follows them
(invariant 3). Every bound is written next to its reason; together they keep the encoded report
within one frame for ordinary text, and the final size check covers the rest (4-byte characters).
"""

from __future__ import annotations

import datetime
import ipaddress
import re
import urllib.parse
from dataclasses import dataclass

from flask_babel import lazy_gettext

from crypto.envelope.frame import MAX_REPORT_BYTES
from crypto.envelope.report import FOUND_ON, KINDS, MAX_URLS, VIAS, Report, encode, is_campaign
from onion_service.web import form
from onion_service.web.tracking import strip_tracking

# One address: browsers handle ~2000 characters in practice, and longer "addresses" are pastes.
MAX_URL_CHARS = 2048
# The address box as a whole: 20 addresses of a few hundred characters each.
MAX_URLS_CHARS = 8000
# Free text, in characters: room for what staff need (facts, not a story); the frame is the
# hard limit, checked last.
MAX_DESCRIPTION_CHARS = 5000
MAX_ACCESS_CHARS = 500
MAX_CONTACT_CHARS = 300
# Seen-on: nothing before the web existed at scale, nothing after tomorrow (a reporter a few
# time zones east of UTC may already live in tomorrow).
EARLIEST_DAY = datetime.date(1995, 1, 1)

_HEX40 = re.compile(r"[0-9a-fA-F]{40}")
_BASE32_32 = re.compile(r"[A-Za-z2-7]{32}")
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")  # BitTorrent v2 (SHA-256) info-hash
_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
_OTHER_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:(?![0-9])")
_ONION = re.compile(r"(?:[a-z2-7]{56}|[a-z2-7]{16})")
_SPACE = re.compile(r"\s")  # for str patterns, exactly the characters str.isspace() accepts


@dataclass(frozen=True)
class Invalid:
    """The fields could not make a report; `errors` maps field names to messages."""

    errors: dict[str, object]


def validate(
    fields: form.Fields, *, language: str, today: datetime.date, receipt: str, channel: str = "onion"
) -> Report | Invalid:
    errors: dict[str, object] = {}
    # Both are ticked boxes whose value the form wrote (views.show): a reporter never types
    # them, so another value is a forged post, refused like any field a browser would not send.
    campaign = fields.get(form.CAMPAIGN)
    via = fields.get(form.VIA)
    if (campaign and not is_campaign(campaign)) or via not in VIAS:
        raise form.Malformed()
    urls = _urls(fields.get(form.URLS), errors)

    found_on = fields.get(form.FOUND_ON)
    if found_on not in FOUND_ON:
        errors[form.FOUND_ON] = lazy_gettext("Please choose where you found it.")

    kinds = tuple(k for k in KINDS if k in fields.kinds)  # form order, no repeats
    if not kinds or len(kinds) != len(set(fields.kinds)) or len(fields.kinds) != len(set(fields.kinds)):
        errors[form.KINDS] = lazy_gettext("Please choose at least one option.")

    access = _text(fields, form.ACCESS, MAX_ACCESS_CHARS, errors)
    seen_on = _day(fields.get(form.SEEN_ON).strip(), today, errors)
    description = _text(fields, form.DESCRIPTION, MAX_DESCRIPTION_CHARS, errors)
    contact = _text(fields, form.CONTACT, MAX_CONTACT_CHARS, errors)

    danger = fields.get(form.DANGER)
    if danger not in ("yes", "no"):
        errors[form.DANGER] = lazy_gettext("Please answer this question.")

    if errors:
        return Invalid(errors)
    report = Report(
        urls=urls,
        found_on=found_on,
        kinds=kinds,
        access=access,
        seen_on=seen_on,
        description=description,
        child_in_danger=danger == "yes",
        contact=contact,
        language=language,
        receipt=receipt,
        received_on=today.isoformat(),
        channel=channel,
        via=via,
        campaign=campaign,
    )
    if len(encode(report)) > MAX_REPORT_BYTES:
        # Only reachable with text full of 3- and 4-byte characters: the description is the
        # field a reporter can most easily shorten.
        return Invalid({form.DESCRIPTION: lazy_gettext("Your report is too long. Please shorten the description.")})
    return report


def _text(fields: form.Fields, name: str, limit: int, errors: dict[str, object]) -> str:
    value = fields.get(name).strip()
    if len(value) > limit:
        errors[name] = lazy_gettext(
            "Please shorten this text to at most %(limit)d characters (it has %(count)d).",
            limit=limit,
            count=len(value),
        )
    return value


def _day(value: str, today: datetime.date, errors: dict[str, object]) -> str:
    if not value:
        return ""
    try:
        day = datetime.date.fromisoformat(value)
        if day.isoformat() != value:
            raise ValueError(value)
    except ValueError:
        errors[form.SEEN_ON] = lazy_gettext("Please give the day as year-month-day, for example 2024-03-15.")
        return ""
    if day > today + datetime.timedelta(days=1):
        errors[form.SEEN_ON] = lazy_gettext("This day is in the future.")
    elif day < EARLIEST_DAY:
        errors[form.SEEN_ON] = lazy_gettext("Please check the year.")
    return value


def _urls(text: str, errors: dict[str, object]) -> tuple[str, ...]:
    if len(text) > MAX_URLS_CHARS:
        errors[form.URLS] = lazy_gettext(
            "Please shorten this text to at most %(limit)d characters (it has %(count)d).",
            limit=MAX_URLS_CHARS,
            count=len(text),
        )
        return ()
    urls: list[str] = []
    for line in text.split("\n"):
        line = line.strip()
        if line and not line[:8].lower() == "magnet:?":
            line = strip_tracking(line)  # tracking parameters can identify the reporter
        if line and line not in urls:
            urls.append(line)
    if not urls:
        errors[form.URLS] = lazy_gettext("Please give at least one address.")
    elif len(urls) > MAX_URLS:
        errors[form.URLS] = lazy_gettext(
            "Please give at most %(limit)d addresses in one report; you can send another report for the rest.",
            limit=MAX_URLS,
        )
    else:
        for url in urls:
            if len(url) > MAX_URL_CHARS:
                errors[form.URLS] = lazy_gettext(
                    "This address is too long (at most %(limit)d characters): %(address)s",
                    limit=MAX_URL_CHARS,
                    address=url[:60] + "…",
                )
                break
            if not is_address(url):
                errors[form.URLS] = lazy_gettext(
                    "This does not look like a web address, an onion address or a magnet link: %(address)s",
                    address=url if len(url) <= 80 else url[:80] + "…",
                )
                break
    return tuple(urls)


def is_address(text: str) -> bool:
    """True for http(s) URLs, bare host names (example.org/x, xyz.onion), magnet links, info-hashes."""
    if _SPACE.search(text):
        return False
    if text[:8].lower() == "magnet:?":
        return _is_magnet(text)
    if _HEX40.fullmatch(text) or _BASE32_32.fullmatch(text) or _HEX64.fullmatch(text):
        return True
    if "://" not in text:
        if _OTHER_SCHEME.match(text):
            return False  # mailto:, javascript:, data: … (but host:port is fine)
        text = "http://" + text  # people paste "example.org/page" as often as full URLs
    try:
        parts = urllib.parse.urlsplit(text)
        host = parts.hostname
        _ = parts.port  # raises ValueError for a port that is not a number in range
    except ValueError:
        return False
    if parts.scheme.lower() not in ("http", "https") or not host:
        return False
    return _is_host(host)


def _is_magnet(text: str) -> bool:
    try:
        params = urllib.parse.parse_qs(text[8:], strict_parsing=True)
    except ValueError:
        return False
    for xt in params.get("xt", []):
        kind, _, digest = xt.lower().rpartition(":")
        if kind == "urn:btih" and (_HEX40.fullmatch(digest) or _BASE32_32.fullmatch(digest)):
            return True
        if kind == "urn:btmh" and re.fullmatch(r"1220[0-9a-f]{64}", digest):
            return True
    return False


def _is_host(host: str) -> bool:
    # Only digits and dots (IPv4) or a colon (IPv6) can be an address literal: a name is not
    # tried as one, which costs two exceptions per address.
    if ":" in host or host.replace(".", "").isdigit():
        try:
            ipaddress.ip_address(host)
            return True
        except ValueError:
            pass
    try:
        # International names are checked in their ASCII form; this is pure computation (no DNS).
        ascii_host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return False
    labels = ascii_host.rstrip(".").split(".")
    if len(labels) < 2 or not all(_LABEL.fullmatch(label) for label in labels):
        return False
    if labels[-1] == "onion":
        return bool(_ONION.fullmatch(labels[-2]))
    return not labels[-1].isdigit()

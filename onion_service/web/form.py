"""Reads the submitted fields out of the request, and nothing more.

The body is parsed here rather than by `request.form`: only application/x-www-form-urlencoded
is accepted (the form's own enctype), so Werkzeug's multipart parser, which spools large parts to
temporary files, is never reached, and no byte of a report can land on disk. The body is read
into memory under MAX_CONTENT_LENGTH and decoded strictly: invalid UTF-8, NUL and other control
characters, unknown or repeated fields are refused rather than repaired.
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass

from flask import Request
from werkzeug.exceptions import BadRequest, UnsupportedMediaType

# The largest body the form can produce, with room for percent-encoding: larger is refused with
# 413 before anything is parsed (and the worker does not buffer it). Small on purpose: it is also
# the most memory one request holds.
MAX_BODY_BYTES = 64 * 1024
# Field names as the template writes them.
URLS, FOUND_ON, KINDS, ACCESS, SEEN_ON = "urls", "found_on", "kinds", "access", "seen_on"
DESCRIPTION, DANGER, CONTACT, TOKEN, HONEYPOT = "description", "danger", "contact", "token", "homepage"
# Ticked boxes the form shows only when a campaign link or the browser extension opened it.
CAMPAIGN, VIA = "campaign", "via"
SINGLE = (URLS, FOUND_ON, ACCESS, SEEN_ON, DESCRIPTION, DANGER, CONTACT, TOKEN, HONEYPOT, CAMPAIGN, VIA)
MULTIPLE = (KINDS,)
# The form has 18 inputs at most (one per kind); a few spare for browsers, then refuse: parsing
# thousands of fields is work an attacker would make us do.
MAX_FIELDS = 24

# The form's enctype: the only body accepted.
URLENCODED = "application/x-www-form-urlencoded"

# C0 controls except tab, LF and CR, plus DEL; NUL is among them. A person cannot type these.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class Fields:
    single: dict[str, str]
    kinds: tuple[str, ...]

    def get(self, name: str) -> str:
        return self.single.get(name, "")


class FilesRefused(UnsupportedMediaType):
    """Anything but a url-encoded text form: in particular multipart, which could carry files."""


class Malformed(BadRequest):
    """A body that no browser filling in our form would send."""


def read_fields(request: Request, *, single: tuple[str, ...] = SINGLE, multiple: tuple[str, ...] = MULTIPLE) -> Fields:
    """The fields of a url-encoded body; `single` and `multiple` name the fields a form has
    (the report form's by default; the status page has its own)."""
    # Browsers send the form's enctype exactly as written, without parameters: only anything
    # else is parsed (and a charset other than UTF-8 refused).
    if request.environ.get("CONTENT_TYPE") != URLENCODED:
        if request.mimetype != URLENCODED:
            raise FilesRefused()
        charset = request.mimetype_params.get("charset", "utf-8").lower()
        if charset not in ("utf-8", "utf8"):
            raise Malformed()
    # get_data enforces MAX_CONTENT_LENGTH (413) whether or not Content-Length tells the truth.
    body = request.get_data(cache=False)
    if request.content_length is None or len(body) != request.content_length:
        # A body shorter than announced was cut off (the client went away, or lied): it may
        # still parse, but it is not what the reporter sent. Browsers always send a length.
        raise Malformed()
    try:
        pairs = _pairs(body)
    except (UnicodeDecodeError, ValueError):
        raise Malformed() from None
    values: dict[str, str] = {}
    kinds: list[str] = []
    for name, value in pairs:
        if _CONTROL.search(value):
            raise Malformed()
        value = value.replace("\r\n", "\n").replace("\r", "\n")
        if name in multiple:
            kinds.append(value)
        elif name in single and name not in values:
            values[name] = value
        else:
            raise Malformed()  # unknown or repeated field
    return Fields(single=values, kinds=tuple(kinds))


def _pairs(body: bytes) -> list[tuple[str, str]]:
    """The name=value pairs of a url-encoded body, strictly (as parse_qsl with strict_parsing).

    Written out rather than parse_qsl: this is the form's hot path, and most values need no
    unquoting at all. Raises ValueError (or UnicodeDecodeError) for anything a browser would not
    send: bytes outside ASCII, a field without "=", an empty field, invalid UTF-8 in an escape.
    """
    if not body:
        return []
    body.decode("ascii")  # a browser percent-encodes every other byte
    fields = body.split(b"&")
    if len(fields) > MAX_FIELDS:
        raise ValueError("too many fields")
    pairs = []
    for field in fields:
        name, equals, value = field.partition(b"=")
        if not equals:
            raise ValueError("a field without a value")
        pairs.append((_unquote(name), _unquote(value)))
    return pairs


def _unquote(raw: bytes) -> str:
    if b"%" not in raw and b"+" not in raw:
        return raw.decode("ascii")
    return urllib.parse.unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8")

"""Addresses handed to the form to fill in, never to submit.

Two ways in, the same rules: a link (GET /<lang>/?url=…[&url=…]) from the hotline's site or a
campaign, and a post (POST /<lang>/prefill) from the browser extension. The post exists so that
the reported address is in no URL the browser keeps (history, session restore, history sync):
only /<lang>/prefill is. Neither way files a report: the reporter still reads the form and sends
it, with the form's own token.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import Request

from crypto.envelope.report import MAX_URLS
from onion_service.web import form, validate

# The one field name, in the query and in the posted body.
FIELD = "url"


def values(addresses: Iterable[str]) -> dict[str, str] | None:
    """The form's values with `addresses` filled in, one a line, or None when none is usable.
    Past the form's own bounds, or not printable, an address is left out rather than refused:
    whoever linked or posted it is not the reporter, who sees the form and decides."""
    kept = [a.strip() for a in list(addresses)[:MAX_URLS]]
    kept = [a for a in kept if 0 < len(a) <= validate.MAX_URL_CHARS and a.isprintable()]
    return {form.URLS: "\n".join(kept)} if kept else None


def posted(request: Request) -> dict[str, str] | None:
    """The form's values from a posted prefill: a url-encoded body of `url` fields and nothing
    else (form.read_fields refuses any other field, so a report posted here is refused, not filed)."""
    return values(form.read_fields(request, single=(), multiple=(FIELD,)).kinds)

"""Helpers for the web tests: a valid report's fields for a server, and files that must not hold a
report. Servers, their configuration and the staff key come from the shared harness; tokens and the
report's fields from tests/formkit.py."""

from __future__ import annotations

from onion_service.config import Config
from tests.formkit import report_fields, token
from tests.kit import HTML_LANG, RECEIPT, ROOT, TOKEN  # noqa: F401 (re-exported)

LANGS = ("nl", "fr", "de", "en")
# A server with both sockets: the public host name and the onion address it answers to.
PUBLIC = "report.example.org"
ONION = "abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuvwx.onion"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def good_fields(config: Config, lang: str = "nl", **extra) -> dict[str, object]:
    """A valid report's fields with a token this server takes for `lang`; `extra` adds or replaces fields."""
    fields = report_fields(token(config.data_dir, lang), urls="http://example.org/a")
    fields.update(extra)
    return fields

"""What the system tests' reporters and attackers send (tests/system/systemkit.py re-exports it):
a report, a look-up on the status page, the extension's prefill, a client too slow to finish its
request. Each takes a client of systemkit's (over Tor or over HTTPS)."""

from __future__ import annotations

import time

from tests.formkit import report_fields
from tests.kit import RECEIPT, TOKEN


def report(token: str, description: str) -> dict[str, object]:
    return report_fields(
        token,
        description=description,
        urls="http://example.org/system\nhttps://example.net/s",
        found_on="forum",
        kinds=("images", "text"),
    )


def token_of(page: str) -> str:
    m = TOKEN.search(page)
    if m is None:
        raise ValueError("no token on the page")
    return m.group(1)


def receipt_of(status: int, page: str) -> str | None:
    m = RECEIPT.search(page) if status == 200 else None
    return m.group(1) if m else None


def file_report(client, description: str, wait: float, lang: str = "en") -> tuple[str | None, str]:
    """A reporter without JavaScript: the form, `wait` seconds of typing, the report; the receipt
    (None if refused) and the token it spent."""
    status, page = client.get(f"/{lang}/")
    if status != 200:
        return None, ""
    token = token_of(page)
    time.sleep(wait)
    return receipt_of(*client.post(f"/{lang}/", report(token, description))), token


def look_up(client, code: str, wait: float, lang: str = "en") -> int:
    """A reporter looking up their receipt on the status page; the answer's status."""
    status, page = client.get(f"/{lang}/status")
    if status != 200:
        return status
    token = token_of(page)
    time.sleep(wait)
    return client.post(f"/{lang}/status", {"code": code, "token": token, "homepage": ""})[0]


def prefill(client, url: str, lang: str = "en") -> tuple[int, str]:
    """The extension's way in: POST /<lang>/prefill with the page's address in the body."""
    return client.post(f"/{lang}/prefill", {"url": url})


def slow_client(client, hold: float) -> bool:
    """Opens a connection and sends a request's headers a line at a time, one line every few
    seconds, for `hold` seconds; True if the server (or nginx) closed it before then."""
    try:
        s = client.raw_socket(timeout=hold + 10)
    except OSError:
        return True
    ended = time.monotonic() + hold
    try:
        s.sendall(b"GET /en/ HTTP/1.1\r\nHost: x\r\n")
        while time.monotonic() < ended:
            time.sleep(min(5.0, max(0.0, ended - time.monotonic())))
            s.sendall(b"X-Slow: 1\r\n")
        return False
    except OSError:
        return True
    finally:
        s.close()

"""What several test areas share: the pages' markers, a staff key that opens sealed reports, and
a free loopback port. Area helpers (webkit, torkit, faultkit, …) build on these."""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass
from pathlib import Path

from crypto import age, frame, keys, report

ROOT = Path(__file__).resolve().parents[1]
HTML_LANG = re.compile(r'<html lang="([a-z]{2})">')
TOKEN = re.compile(r'name="token" value="([^"]+)"')
RECEIPT = re.compile(r'<p class="code"[^>]*><strong>([A-Z0-9-]+)</strong></p>')


@dataclass(frozen=True)
class Staff:
    """A staff key pair as a test holds it: the identities and the recipient string."""

    identities: list
    recipient: str

    def open(self, sealed: bytes) -> report.Report:
        return report.decode(frame.unframe(age.decrypt(sealed, self.identities)))


def new_staff(kind: str = "pq") -> Staff:
    # Post-quantum, as deployed: opening one costs well under a millisecond.
    ident = keys.generate(kind)
    return Staff([ident], ident.recipient().encode())


def free_port() -> int:
    """A port on 127.0.0.1 that was free a moment ago (the caller binds it soon after)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

"""Seals a report to the hotline's recipients: the last step that sees plaintext.

After `seal` returns, only ciphertext of a fixed length exists outside the caller's locals; the
server holds no key that could open it.
"""

from __future__ import annotations

from collections.abc import Sequence

from crypto.age.keys import parse_recipient
from crypto.envelope.report import Report
from crypto.envelope.sealing import seal


class Sealer:
    def __init__(self, recipients: Sequence[str]) -> None:
        # Parsed once at start-up; config.py has already refused invalid or mixed recipients.
        self._recipients = [parse_recipient(r) for r in recipients]

    def seal(self, r: Report) -> bytes:
        return seal(r, self._recipients)

"""Seals a report to the hotline's recipients: the last step that sees plaintext.

After `seal` returns, only ciphertext of a fixed length exists outside the caller's locals; the
server holds no key that could open it. With key schedules (crypto/periods), the recipients are
those of the period that holds the report's day, one per staff member.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence

from crypto.age.keys import parse_recipient
from crypto.envelope.report import Report
from crypto.envelope.sealing import seal
from crypto.errors import Error
from crypto.periods.schedule import Schedule


class NoPeriodError(Error):
    """No key period holds the report's day: it cannot be sealed (and is not stored)."""


class Sealer:
    def __init__(self, recipients: Sequence[str], schedules: Sequence[Schedule] = ()) -> None:
        # Parsed once at start-up; config.py has already refused invalid or mixed recipients.
        self._recipients = [parse_recipient(r) for r in recipients]
        self._schedules = tuple(schedules)
        self._parsed = {p.recipient: parse_recipient(p.recipient) for s in schedules for p in s.periods}

    def seal(self, r: Report) -> bytes:
        return seal(r, self.recipients_for(datetime.date.fromisoformat(r.received_on)))

    def recipients_for(self, day: datetime.date) -> list:
        if not self._schedules:
            return self._recipients
        found = []
        for schedule in self._schedules:
            period = schedule.period_for(day)
            if period is None:
                raise NoPeriodError(f"no key period holds {day.isoformat()}")
            found.append(self._parsed[period.recipient])
        return found

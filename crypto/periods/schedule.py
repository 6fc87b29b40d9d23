"""The schedule: a public text file of periods, each with its first day and its recipient.

    meldpunt-schedule-v1
    # any comment
    2026-12-01 age1pq1…
    2027-01-01 age1pq1…
    end 2027-02-01

A period runs from its first day up to the next period's first day; the last one up to `end`
(exclusive). A schedule without `end` has an open-ended last period: that is how a single,
long-term key (today's configuration) reads as a schedule. The file holds public keys only.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass

from crypto.age.errors import RecipientError
from crypto.age.keys import parse_recipient
from crypto.periods.errors import ScheduleError

MAGIC = "meldpunt-schedule-v1"
# 100 years of monthly periods; far past any real schedule, and it bounds what a wrong file costs.
MAX_PERIODS = 1200
# A post-quantum recipient is about 2 KB of text: 1200 of them with their days fit in 3 MiB.
MAX_SCHEDULE_BYTES = 3 << 20


@dataclass(frozen=True)
class Period:
    first_day: datetime.date
    recipient: str  # age1pq1… or age1…, checked when parsed


@dataclass(frozen=True)
class Schedule:
    periods: tuple[Period, ...]  # in order of first day, no two on one day
    end: datetime.date | None  # the day after the last period; None: open-ended

    def period_for(self, day: datetime.date) -> Period | None:
        """The period that holds `day`, or None (before the first, or on/after `end`)."""
        if not self.periods or day < self.periods[0].first_day or (self.end is not None and day >= self.end):
            return None
        found = self.periods[0]
        for period in self.periods:
            if period.first_day > day:
                break
            found = period
        return found

    def days_left(self, today: datetime.date) -> int | None:
        """Days from `today` to the end of the schedule (None: open-ended)."""
        return None if self.end is None else (self.end - today).days

    def period_end(self, period: Period) -> datetime.date | None:
        """The first day after `period` (None for an open-ended last period)."""
        later = [p.first_day for p in self.periods if p.first_day > period.first_day]
        return min(later) if later else self.end


def parse(text: str, *, name: str = "schedule") -> Schedule:
    """A schedule from its text; every line checked (ScheduleError names the line)."""
    if len(text.encode("utf-8")) > MAX_SCHEDULE_BYTES:
        raise ScheduleError(f"{name} is too large: more than {MAX_SCHEDULE_BYTES} bytes")
    lines = [(n, line.strip()) for n, line in enumerate(text.splitlines(), 1)]
    lines = [(n, line) for n, line in lines if line and not line.startswith("#")]
    if not lines or lines[0][1] != MAGIC:
        raise ScheduleError(f"{name} does not start with {MAGIC}")
    periods: list[Period] = []
    end: datetime.date | None = None
    for n, line in lines[1:]:
        if end is not None:
            raise ScheduleError(f"{name}, line {n}: nothing may follow the end line")
        first, _, rest = line.partition(" ")
        rest = rest.strip()
        if first == "end":
            end = _day(rest, name, n)
            continue
        day = _day(first, name, n)
        try:
            parse_recipient(rest)
        except RecipientError as exc:
            raise ScheduleError(f"{name}, line {n}: {exc}") from None
        if periods and day <= periods[-1].first_day:
            raise ScheduleError(f"{name}, line {n}: periods must be in order of their first day, one per day")
        periods.append(Period(day, rest))
        if len(periods) > MAX_PERIODS:
            raise ScheduleError(f"{name} has more than {MAX_PERIODS} periods")
    if not periods:
        raise ScheduleError(f"{name} lists no period")
    if end is not None and end <= periods[-1].first_day:
        raise ScheduleError(f"{name}: the end must come after the last period's first day")
    return Schedule(tuple(periods), end)


def format(schedule: Schedule, *, comment: str = "") -> str:
    lines = [MAGIC]
    if comment:
        lines += [f"# {line}" for line in comment.splitlines()]
    lines += [f"{p.first_day.isoformat()} {p.recipient}" for p in schedule.periods]
    if schedule.end is not None:
        lines.append(f"end {schedule.end.isoformat()}")
    return "\n".join(lines) + "\n"


def single(recipients: Sequence[str], since: datetime.date = datetime.date(1970, 1, 1)) -> list[Schedule]:
    """Today's single-key configuration as schedules: one open-ended period per recipient."""
    return [Schedule((Period(since, r),), None) for r in recipients]


def recipients_for(schedules: Sequence[Schedule], day: datetime.date) -> list[str]:
    """Every staff member's recipient for the period that holds `day`: a report is sealed to
    all of them. ScheduleError when a schedule has no period for it."""
    found = []
    for i, schedule in enumerate(schedules):
        period = schedule.period_for(day)
        if period is None:
            raise ScheduleError(f"schedule {i + 1} has no period for {day.isoformat()}")
        found.append(period.recipient)
    return found


def _day(text: str, name: str, n: int) -> datetime.date:
    try:
        if len(text) != 10:
            raise ValueError
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise ScheduleError(f"{name}, line {n}: {text!r} is not a day (YYYY-MM-DD)") from None

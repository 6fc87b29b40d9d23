"""Periods for `meldpunt case stats`: a span of days, its buckets (day, week, month, year), the
period before it and the same period a year earlier, and the campaign dates file.

Days are the finest unit the project keeps (a report's arrival day), so every bucket is made of
whole days: the case file counts per day, and the days are put into buckets here, so that the
buckets with no report still appear in the output with 0.
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass

from crypto.case.errors import InputError
from crypto.envelope.report import is_campaign
from crypto.files import read_bounded

BY = ("day", "week", "month", "year")
# Buckets in one table or chart: ten years of days, well past any annual report; bounds the
# output a typing slip (--from 1900) would otherwise make.
MAX_BUCKETS = 3700
# The campaigns file: a hotline's list of campaign dates, a few lines a year.
MAX_CAMPAIGNS_BYTES = 64 * 1024
MAX_CAMPAIGNS = 1000


def parse_day(text: str, what: str) -> datetime.date:
    try:
        day = datetime.date.fromisoformat(text)
    except (TypeError, ValueError):
        raise InputError(f"{what} {text!r} is not a day (YYYY-MM-DD)") from None
    if day.isoformat() != text:
        raise InputError(f"{what} {text!r} is not a day (YYYY-MM-DD)")
    return day


def bucket_of(day: datetime.date, by: str) -> str:
    if by == "day":
        return day.isoformat()
    if by == "week":
        return (day - datetime.timedelta(days=day.weekday())).isoformat()
    if by == "month":
        return day.isoformat()[:7]
    return day.isoformat()[:4]


def bucket_label(key: str, by: str) -> str:
    """How people read a bucket: a week as its ISO week (2020-W14), the others as they are."""
    if by != "week":
        return key
    year, week, _ = datetime.date.fromisoformat(key).isocalendar()
    return f"{year}-W{week:02d}"


@dataclass(frozen=True)
class Period:
    start: datetime.date
    end: datetime.date  # inclusive

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise InputError(f"the period ends ({self.end}) before it starts ({self.start})")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def bounds(self) -> tuple[str, str]:
        return self.start.isoformat(), self.end.isoformat()

    def previous(self) -> Period:
        """The period of as many days just before this one."""
        return Period(self.start - datetime.timedelta(days=self.days), self.start - datetime.timedelta(days=1))

    def year_earlier(self) -> Period:
        return Period(_year_before(self.start), _year_before(self.end))

    def buckets(self, by: str) -> list[str]:
        """Every bucket the period touches, in order (the first and last may be partial)."""
        if by not in BY:
            raise InputError(f"unknown --by {by!r}; one of {', '.join(BY)}")
        keys: list[str] = []
        day = self.start
        step = datetime.timedelta(days=1)
        while day <= self.end:
            key = bucket_of(day, by)
            if not keys or keys[-1] != key:
                keys.append(key)
                if len(keys) > MAX_BUCKETS:
                    raise InputError(f"more than {MAX_BUCKETS} {by}s in the period: choose a coarser --by")
            day += step
        return keys

    def __str__(self) -> str:
        return f"{self.start} to {self.end}"


def _year_before(day: datetime.date) -> datetime.date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


@dataclass(frozen=True)
class Campaign:
    day: datetime.date
    tag: str


def read_campaigns(path: str) -> list[Campaign]:
    """A campaigns file: one `YYYY-MM-DD tag` a line; blank lines and lines starting with # skipped."""
    data = read_bounded(path, MAX_CAMPAIGNS_BYTES, InputError, "the campaigns file")  # a short list
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{path} is not UTF-8 text") from None
    out: list[Campaign] = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        if len(parts) != 2 or not is_campaign(parts[1]):
            raise InputError(
                f"{os.path.basename(path)} line {number}: expected `YYYY-MM-DD tag` "
                "(a tag is a-z, 0-9 and inner hyphens, at most 32)"
            )
        out.append(Campaign(parse_day(parts[0], f"line {number}:"), parts[1]))
        if len(out) > MAX_CAMPAIGNS:
            raise InputError(f"{path} lists more than {MAX_CAMPAIGNS} campaigns")
    return sorted(out, key=lambda c: (c.day, c.tag))

"""The staff's key schedules on the server: read and checked whole at start-up (like the rest of
the configuration), and the recipients of the period that holds a report's day.

The schedule files hold public keys only (crypto/periods/schedule.py). The server refuses to start
when no period covers today, and warns `schedule_warn_days` before the first schedule runs out.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from pathlib import Path

from crypto.errors import Error
from crypto.files import read_bounded
from crypto.periods import schedule as schedule_file
from crypto.periods.errors import ScheduleError
from crypto.periods.schedule import Schedule


class ScheduleConfigError(Error):
    """A configured schedule cannot be read, or its periods cannot seal a report."""


def load(paths: Sequence[str], base_dir: Path) -> tuple[Schedule, ...]:
    loaded = []
    for i, name in enumerate(paths):
        if not isinstance(name, str) or not name:
            raise ScheduleConfigError(f"schedules[{i}] must be the path of a schedule file")
        path = Path(name) if Path(name).is_absolute() else base_dir / name
        data = read_bounded(path, schedule_file.MAX_SCHEDULE_BYTES, ScheduleConfigError, "schedule")
        try:
            loaded.append(schedule_file.parse(data.decode("utf-8"), name=str(path)))
        except UnicodeDecodeError:
            raise ScheduleConfigError(f"schedule {path} is not UTF-8 text") from None
        except ScheduleError as exc:
            raise ScheduleConfigError(str(exc)) from None
    _check_combinable(loaded)
    return tuple(loaded)


def _check_combinable(schedules: list[Schedule]) -> None:
    """Every day that all schedules cover must seal: a trial seal at each period boundary finds
    post-quantum beside classic keys at start-up, not at the first report of that period."""
    from crypto.age import encrypt
    from crypto.age.keys import parse_recipient

    days = sorted({p.first_day for s in schedules for p in s.periods})
    for day in days:
        try:
            recipients = schedule_file.recipients_for(schedules, day)
        except ScheduleError:
            continue  # not every staff member has a period for this day: checked when serving
        try:
            encrypt(b"", [parse_recipient(r) for r in recipients])
        except Error as exc:
            raise ScheduleConfigError(f"schedules, from {day.isoformat()}: {exc}") from None


def utc_today() -> datetime.date:
    return datetime.datetime.now(datetime.UTC).date()


def check_today(schedules: Sequence[Schedule], today: datetime.date, warn_days: int) -> str | None:
    """Raises unless every schedule has a period for today; returns a warning when one ends
    within `warn_days` (the start-up output and meldpunt-check show it)."""
    try:
        schedule_file.recipients_for(schedules, today)
    except ScheduleError as exc:
        raise ScheduleConfigError(
            f"{exc}: make keys for the coming periods (meldpunt keygen --periods) and give the server the new schedule"
        ) from None
    left = [s.days_left(today) for s in schedules]
    soonest = min((d for d in left if d is not None), default=None)
    if soonest is not None and soonest <= warn_days:
        return (
            f"the key schedule runs out in {soonest} days; after that no report can be sealed. "
            "Make keys for the coming periods on the offline machine (meldpunt keygen --periods)."
        )
    return None

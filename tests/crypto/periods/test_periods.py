"""Key periods: the schedule and the period identity file, strictly read."""

from __future__ import annotations

import datetime

import pytest

from crypto.age import keys
from crypto.periods import keyring, schedule
from crypto.periods.errors import KeyringError, RetiredKeyError, ScheduleError

D = datetime.date


def _schedule_text(*lines: str) -> str:
    return "\n".join([schedule.MAGIC, *lines]) + "\n"


def test_a_schedule_gives_each_day_its_period_and_nothing_outside():
    ring, sched, end = keyring.generate(D(2026, 12, 15), 3, "month")
    assert [p.first_day for p in sched.periods] == [D(2026, 12, 15), D(2027, 1, 1), D(2027, 2, 1)]
    assert end == sched.end == D(2027, 3, 1)
    assert sched.period_for(D(2026, 12, 14)) is None
    assert sched.period_for(D(2026, 12, 31)).first_day == D(2026, 12, 15)
    assert sched.period_for(D(2027, 2, 28)).first_day == D(2027, 2, 1)
    assert sched.period_for(D(2027, 3, 1)) is None
    assert sched.days_left(D(2027, 2, 20)) == 9
    again = schedule.parse(schedule.format(sched))
    assert again == sched
    # Each period's recipient is its own key's: the keyring opens what its period's key sealed.
    for period in sched.periods:
        identity = keys.parse_identity(ring.held[period.first_day])
        assert identity.recipient().encode() == period.recipient


@pytest.mark.parametrize(
    "lines, message",
    [
        ((), "lists no period"),
        (("2027-01-01 age1nope",), "line 2"),
        (("2027-1-1 " + "x",), "is not a day"),
        (("end 2027-01-01",), "lists no period"),
    ],
)
def test_a_malformed_schedule_is_refused_naming_the_line(lines, message):
    with pytest.raises(ScheduleError, match=message):
        schedule.parse(_schedule_text(*lines))


def test_periods_out_of_order_or_an_end_too_early_are_refused():
    r1 = keys.generate("pq").recipient().encode()
    with pytest.raises(ScheduleError, match="in order"):
        schedule.parse(_schedule_text(f"2027-02-01 {r1}", f"2027-01-01 {r1}"))
    with pytest.raises(ScheduleError, match="after the last"):
        schedule.parse(_schedule_text(f"2027-02-01 {r1}", "end 2027-02-01"))
    with pytest.raises(ScheduleError, match="does not start"):
        schedule.parse(f"2027-02-01 {r1}\n")


def test_several_staff_members_each_give_a_recipient_for_a_day():
    _, a, _ = keyring.generate(D(2027, 1, 1), 2, "month")
    _, b, _ = keyring.generate(D(2027, 1, 1), 1, "quarter")
    got = schedule.recipients_for([a, b], D(2027, 2, 10))
    assert got == [a.periods[1].recipient, b.periods[0].recipient]
    with pytest.raises(ScheduleError, match="schedule 1 has no period"):
        schedule.recipients_for([a, b], D(2027, 3, 10))


def test_a_keyring_round_trips_and_retiring_keeps_only_the_day_it_happened():
    ring, _, _ = keyring.generate(D(2027, 1, 1), 3, "week")
    assert sorted(ring.held) == [D(2027, 1, 1), D(2027, 1, 8), D(2027, 1, 15)]
    assert keyring.parse(ring.text()) == ring
    # An ordinary age identity file reader sees the keys: every other line is a comment.
    assert len(keys.parse_identities(ring.text())) == 3
    newer, due = keyring.retire_before(ring, D(2027, 1, 15), on=D(2027, 3, 1))
    assert due == [D(2027, 1, 1), D(2027, 1, 8)]
    assert sorted(newer.held) == [D(2027, 1, 15)] and newer.retired == {d: D(2027, 3, 1) for d in due}
    text = newer.text()
    for first in due:
        assert ring.held[first] not in text  # the key itself is gone from the file
    explained = keyring.parse(text).explain(D(2027, 1, 10))
    assert isinstance(explained, RetiredKeyError) and "retired on 2027-03-01" in str(explained)
    assert keyring.parse(text).explain(D(2027, 1, 16)) is None
    # The last held period stays: its end is not in the keyring.
    _, due = keyring.retire_before(newer, D(2099, 1, 1), on=D(2027, 3, 1))
    assert due == []


@pytest.mark.parametrize(
    "text, message",
    [
        ("AGE-SECRET-KEY-1X\n", "does not start"),
        (keyring.MAGIC + "\n# period 2027-01-01\n", "has no key"),
        (keyring.MAGIC + "\nAGE-SECRET-KEY-PQ-1ABC\n", "without its '# period' line"),
        (keyring.MAGIC + "\n# period 2027-13-01\n", "is not a day"),
    ],
)
def test_a_malformed_keyring_is_refused(text, message):
    with pytest.raises(KeyringError, match=message):
        keyring.parse(text)

"""The addresses of a period for `meldpunt case stats`: those first reported in it (the cohort),
counted in one grouped scan, with their verdicts, removal times and the share still online; and
those reported before and named again in it."""

from __future__ import annotations

import datetime
import math
import sqlite3
from collections import Counter
from dataclasses import dataclass, field

from crypto.case.decisions import ILLEGAL, VERDICTS
from crypto.case.stats_periods import Period
from crypto.case.stats_tables import Cell, Days, Share, Table

ONLINE_AFTER = (2, 7, 30)  # days after the first report, as hotlines publish removal times


@dataclass
class Cohort:
    """The addresses first reported in a period, counted."""

    new: int = 0
    statuses: Counter = field(default_factory=Counter)
    verdicts: Counter = field(default_factory=Counter)  # "" for not assessed
    ages: Counter = field(default_factory=Counter)  # of the illegal ones, as the rest below
    countries: Counter = field(default_factory=Counter)
    removal: Counter = field(default_factory=Counter)  # days to removal -> addresses
    online: dict[int, list[int]] = field(default_factory=dict)  # days -> [eligible, still online]

    @property
    def illegal(self) -> int:
        return sum(self.verdicts[v] for v in ILLEGAL)


def cohort(conn: sqlite3.Connection, period: Period, as_of: datetime.date) -> Cohort:
    # Grouped by the raw columns only (an expression per row costs more than the grouping), with
    # the days to removal for removed addresses, and how long ago each was first reported: only
    # addresses first reported at least N days before `as_of` can have been online N days.
    latest = [min(period.end, as_of - datetime.timedelta(days=n)).isoformat() for n in ONLINE_AFTER]
    age = (
        "CASE "
        + " ".join(
            f"WHEN a.first_day <= ? THEN {n}" for n, _ in sorted(zip(ONLINE_AFTER, latest, strict=True), reverse=True)
        )
        + " ELSE 0 END"
    )
    rows = conn.execute(
        "SELECT a.status, coalesce(s.verdict, ''), s.age_group, s.country,"
        " CASE WHEN a.status = 'removed' THEN CAST(julianday(a.status_day) - julianday(a.first_day) AS INTEGER) END,"
        f" {age}, count(*) FROM addresses a INDEXED BY addresses_first_day"
        " LEFT JOIN assessments s ON s.address = a.id WHERE a.first_day BETWEEN ? AND ? GROUP BY 1, 2, 3, 4, 5, 6",
        (*[d for _, d in sorted(zip(ONLINE_AFTER, latest, strict=True), reverse=True)], *period.bounds),
    ).fetchall()
    c = Cohort(online={n: [0, 0] for n in ONLINE_AFTER})
    for status, verdict, age_group, country, days, old_enough, n in rows:  # groups, not addresses
        c.new += n
        c.statuses[status] += n
        c.verdicts[verdict] += n
        if verdict not in ILLEGAL:
            continue
        c.ages[age_group] += n
        c.countries[country] += n
        if days is not None:
            c.removal[days] += n
        for after in ONLINE_AFTER:
            if old_enough >= after:
                c.online[after][0] += n
                if days is None or days > after:
                    c.online[after][1] += n
    return c


def repeated(conn: sqlite3.Connection, period: Period) -> int:
    """Addresses first reported before the period and named in it. Their first and last days are
    days of reports naming them, so one whose last day falls in the period was named in it; only
    one reported both before and after the period needs its reports looked up (few, and each
    through its own mentions), never every report of the period."""
    return conn.execute(
        "SELECT count(*) FROM addresses a INDEXED BY addresses_first_day WHERE a.first_day < ?1 AND a.last_day >= ?1"
        " AND (a.last_day <= ?2 OR EXISTS (SELECT 1 FROM mentions m JOIN reports r ON r.id = m.report"
        " WHERE m.address = a.id AND r.day BETWEEN ?1 AND ?2))",
        period.bounds,
    ).fetchone()[0]


def addresses_table(cohort: Cohort, repeated: int) -> Table:
    return Table(
        "addresses",
        "Addresses named by the period's reports",
        ("addresses", "count"),
        [
            ("named", cohort.new + repeated),
            ("new: first reported in the period", cohort.new),
            ("repeated: reported before too", repeated),
        ],
    )


def verdicts_table(cohort: Cohort) -> Table:
    assessed = cohort.new - cohort.verdicts[""]
    rows: list[tuple[Cell, ...]] = [(VERDICTS[v], cohort.verdicts[v]) for v in VERDICTS]
    rows.append(("not assessed yet", cohort.verdicts[""]))
    rows.append(("share of the assessed found illegal", Share(cohort.illegal, assessed)))
    return Table("verdicts", "New addresses by verdict", ("verdict", "addresses"), rows)


def removal_table(cohort: Cohort) -> Table:
    histogram = sorted(cohort.removal.items())
    removed = sum(cohort.removal.values())
    rows: list[tuple[Cell, ...]] = [
        ("new addresses assessed illegal", cohort.illegal),
        ("removed", removed),
        ("median days to removal", Days(percentile(histogram, 0.5), removed)),
        ("90th percentile days to removal", Days(percentile(histogram, 0.9), removed)),
    ]
    for days in ONLINE_AFTER:
        eligible, online = cohort.online[days]
        rows.append((f"still online after {days} days", Share(online, eligible)))
    return Table(
        "removal",
        "Time from the first report to removal (new addresses assessed illegal)",
        ("figure", "value"),
        rows,
        'Days from the day an address was first reported to the day its status became "removed"; '
        'percentiles by nearest rank. "Still online" counts addresses not removed within that many '
        "days, among those first reported at least that long ago.",
    )


# Days to removal grouped as hotlines publish them: (label, first day, last day or None).
REMOVAL_BINS = (("0 to 2 days", 0, 2), ("3 to 7 days", 3, 7), ("8 to 30 days", 8, 30), ("more than 30 days", 31, None))


def removal_days_table(cohort: Cohort) -> Table:
    rows = [
        (label, sum(n for d, n in cohort.removal.items() if d >= lo and (hi is None or d <= hi)))
        for label, lo, hi in REMOVAL_BINS
    ]
    return Table(
        "removal_days",
        "Days from the first report to removal",
        ("days", "addresses"),
        rows,
        "New addresses assessed illegal and since removed.",
    )


def percentile(histogram: list[tuple[int, int]], p: float) -> int | None:
    """The nearest-rank percentile of a sorted (value, count) histogram; None when it is empty."""
    total = sum(n for _, n in histogram)
    if not total:
        return None
    rank = max(1, math.ceil(p * total))
    seen = 0
    for value, n in histogram:
        seen += n
        if seen >= rank:
            return value
    raise AssertionError("unreachable: rank <= total")

"""`meldpunt case stats`: the hotline's numbers over a period, computed from the case file.

Every figure comes from a few SQL aggregates over indexes made for them (migration 3 in
crypto/case/schema.py), never a Python loop over rows: the period's reports are counted by each
field in a covering index, the addresses first reported in it in one pass grouped by status,
verdict, age group, country and days to removal, and the tables then sum those groups (a few
thousand at most). A case file of a million addresses answers within seconds (bench/stats.py).

What is counted, and from where:
- reports: by the day they arrived (`reports.day`, the finest the project keeps), by language,
  where found, kind (a report may name several), channel, the extension's prefill, campaign;
- addresses named by a report of the period: new (first reported in it) or repeated;
- the addresses first reported in the period ("new"): their verdict, the share assessed illegal,
  and for the illegal ones the age group and hosting country; every new address by status;
- notices and hand-offs: addresses moved to that status in the period, from the audit log;
- removal: of the new addresses assessed illegal, days from the first report to the day their
  status became "removed" (median and 90th percentile, nearest rank), and the share still online
  2, 7 and 30 days after the first report (among those first reported at least that long ago).
Nothing here suppresses: small counts are hidden when the figures are written out for people
outside the hotline (crypto/case/stats_output.py).
"""

from __future__ import annotations

import concurrent.futures
import datetime
import math
import sqlite3
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from crypto.case.decisions import AGE_GROUPS, ILLEGAL, VERDICTS
from crypto.case.schema import STATUSES
from crypto.case.stats_periods import Campaign, Period, bucket_label, bucket_of
from crypto.envelope.report import CHANNELS, FOUND_ON, KINDS, LANGUAGES

HANDOFF_STATUSES = ("notice-sent", "forwarded-police", "forwarded-hotline")
ONLINE_AFTER = (2, 7, 30)  # days after the first report, as hotlines publish removal times
CAMPAIGN_WINDOW = 28  # days before and from a campaign's date compared: four whole weeks
# Aggregates run at once: the longest (the period's new addresses) takes about as long as the
# next three together, so more threads gain nothing.
WORKERS = 4


@dataclass(frozen=True)
class Share:
    part: int
    whole: int


@dataclass(frozen=True)
class Days:
    """A number of days computed over `basis` addresses (None when there were none)."""

    value: int | None
    basis: int


@dataclass(frozen=True)
class Ratio:
    now: int
    then: int


Cell = int | str | Share | Days | Ratio


@dataclass(frozen=True)
class Table:
    name: str  # the CSV file's stem
    title: str
    columns: tuple[str, ...]
    rows: list[tuple[Cell, ...]]
    note: str = ""


@dataclass(frozen=True)
class Stats:
    period: Period
    by: str
    as_of: datetime.date
    tables: list[Table]
    campaigns: list[Campaign] = field(default_factory=list)


def compute(connect: Callable[[], sqlite3.Connection], period: Period, by: str, *,
            campaigns: Sequence[Campaign] = (), as_of: datetime.date | None = None, workers: int = WORKERS) -> Stats:
    """Every table for the period. `connect` opens a connection to the case file: the independent
    aggregates run at once, each in a thread on a connection of its own (SQLite lets go of the
    GIL while it counts, and readers do not block each other), so the machine's cores share them."""
    as_of = as_of or datetime.date.today()
    buckets = period.buckets(by)  # checks `by` and the number of buckets first
    earlier = (period.previous(), period.year_earlier())
    jobs: dict[str, Callable[[sqlite3.Connection], Any]] = {  # the longest first
        "cohort": lambda c: _cohort(c, period, as_of),
        "reports": lambda c: _report_groups(c, period),
        "handoffs": lambda c: _handoffs(c, period),
        "earlier": lambda c: _earlier(c, period, earlier),
        "received": lambda c: _received(c, period, by, buckets),
        "repeated": lambda c: _repeated(c, period),
        "campaigns": lambda c: _campaigns(c, campaigns) if campaigns else None,
    }
    done = _run(connect, jobs, workers)
    cohort, reports = done["cohort"], done["reports"]
    tables = [
        _comparison(period, earlier, cohort, done["earlier"]),
        done["received"],
        _count_table(reports, "language", "reports_by_language", "Reports by language", LANGUAGES),
        _count_table(reports, "found_on", "reports_by_place", "Reports by where the material was found", FOUND_ON),
        _by_kind(reports),
        _by_channel(reports),
        _by_campaign(reports),
        _addresses(cohort, done["repeated"]),
        _verdicts(cohort),
        Table("illegal_by_age_group", "New addresses assessed illegal, by age group", ("age group", "addresses"),
              [(g, cohort.ages[g]) for g in AGE_GROUPS]),
        Table("illegal_by_country", "New addresses assessed illegal, by hosting country", ("country", "addresses"),
              [(c or "not found", n) for c, n in sorted(cohort.countries.items(), key=lambda cn: (-cn[1], cn[0]))]),
        Table("new_by_status", "New addresses by status today", ("status", "addresses"),
              [(st, cohort.statuses[st]) for st in STATUSES]),
        done["handoffs"],
        _removal(cohort),
        _removal_days(cohort),
    ]
    if done["campaigns"] is not None:
        tables.append(done["campaigns"])
    return Stats(period, by, as_of, tables, list(campaigns))


def _run(connect: Callable[[], sqlite3.Connection], jobs: dict[str, Callable[[sqlite3.Connection], Any]],
         workers: int) -> dict[str, Any]:
    def on_own_connection(job: Callable[[sqlite3.Connection], Any]) -> Any:
        conn = connect()  # a connection belongs to the thread that opened it
        try:
            return job(conn)
        finally:
            conn.close()

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        futures = {name: pool.submit(on_own_connection, job) for name, job in jobs.items()}
        # The first failure (a locked or damaged case file) is raised here, in the caller's thread.
        return {name: future.result() for name, future in futures.items()}


# --- reports: grouped scans of the period in the covering index reports_stats ------------------

_REPORT_FIELDS = ("language", "found_on", "kinds", "channel", "via", "campaign")


def _report_groups(conn: sqlite3.Connection, period: Period) -> dict[str, Counter]:
    """Reports of the period counted by each field, one GROUP BY each: six short scans of the index
    (measured faster than one scan grouped by all six, whose groups multiply)."""
    out = {}
    for column in _REPORT_FIELDS:  # the module's own names, never input
        out[column] = Counter(dict(conn.execute(
            f"SELECT {column}, count(*) FROM reports WHERE day BETWEEN ? AND ? GROUP BY {column}", period.bounds)))
    return out


def _reports_between(conn: sqlite3.Connection, period: Period) -> int:
    return conn.execute("SELECT count(*) FROM reports WHERE day BETWEEN ? AND ?", period.bounds).fetchone()[0]


def _received(conn: sqlite3.Connection, period: Period, by: str, buckets: list[str]) -> Table:
    reports: Counter = Counter()
    new: Counter = Counter()
    # Counted per day in the indexes, then put into buckets here (one group per day of the period).
    for day, n in conn.execute("SELECT day, count(*) FROM reports WHERE day BETWEEN ? AND ? GROUP BY day",
                               period.bounds):
        reports[bucket_of(datetime.date.fromisoformat(day), by)] += n
    for day, n in conn.execute("SELECT first_day, count(*) FROM addresses WHERE first_day BETWEEN ? AND ?"
                               " GROUP BY first_day", period.bounds):
        new[bucket_of(datetime.date.fromisoformat(day), by)] += n
    rows = [(bucket_label(b, by), reports[b], new[b]) for b in buckets]
    return Table("received", f"Reports received and new addresses, by {by}", (by, "reports", "new addresses"), rows,
                 "By the day each report arrived: the finest the case file keeps.")


def _count_table(groups: dict[str, Counter], field_name: str, name: str, title: str, order: tuple[str, ...]) -> Table:
    found = groups[field_name]
    return Table(name, title, (field_name.replace("_", " "), "reports"), [(code, found[code]) for code in order])


def _by_kind(groups: dict[str, Counter]) -> Table:
    found: Counter = Counter()
    for kinds, n in groups["kinds"].items():  # one group per combination of kinds: 63 at most
        for kind in kinds.split(";"):
            found[kind] += n
    return Table("reports_by_kind", "Reports by kind of material", ("kind", "reports"), [(k, found[k]) for k in KINDS],
                 "A report may name several kinds, so these add up to more than the reports.")


def _by_channel(groups: dict[str, Counter]) -> Table:
    found = groups["channel"]
    rows: list[tuple[Cell, ...]] = [(c, found[c]) for c in CHANNELS]
    rows.append(("not recorded", found[""]))
    rows.append(("filled in by the browser extension", groups["via"]["extension"]))
    return Table("reports_by_channel", "Reports by channel", ("channel", "reports"), rows,
                 "Onion service or the HTTPS site; reports sealed before the channel was recorded are "
                 "\"not recorded\". The extension's reports are also counted in their channel.")


def _by_campaign(groups: dict[str, Counter]) -> Table:
    found = groups["campaign"]
    rows = [(tag or "(none)", found[tag]) for tag in sorted(found, key=lambda t: (t == "", t))]
    return Table("reports_by_campaign", "Reports by campaign tag", ("campaign", "reports"), rows,
                 "The tag a campaign link carried, when the reporter kept it ticked on the form.")


# --- addresses first reported in the period: one grouped scan --------------------------------

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


def _cohort(conn: sqlite3.Connection, period: Period, as_of: datetime.date) -> Cohort:
    # Grouped by the raw columns only (an expression per row costs more than the grouping), with
    # the days to removal for removed addresses, and how long ago each was first reported: only
    # addresses first reported at least N days before `as_of` can have been online N days.
    latest = [min(period.end, as_of - datetime.timedelta(days=n)).isoformat() for n in ONLINE_AFTER]
    age = "CASE " + " ".join(f"WHEN a.first_day <= ? THEN {n}" for n, _ in
                             sorted(zip(ONLINE_AFTER, latest), reverse=True)) + " ELSE 0 END"
    rows = conn.execute(
        "SELECT a.status, coalesce(s.verdict, ''), s.age_group, s.country,"
        " CASE WHEN a.status = 'removed' THEN CAST(julianday(a.status_day) - julianday(a.first_day) AS INTEGER) END,"
        f" {age}, count(*) FROM addresses a INDEXED BY addresses_first_day"
        " LEFT JOIN assessments s ON s.address = a.id WHERE a.first_day BETWEEN ? AND ? GROUP BY 1, 2, 3, 4, 5, 6",
        (*[d for _, d in sorted(zip(ONLINE_AFTER, latest), reverse=True)], *period.bounds)).fetchall()
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


def _totals(conn: sqlite3.Connection, period: Period) -> tuple[int, int, int]:
    """(new addresses, of them assessed illegal, of those removed): the figures compared."""
    marks = ",".join("?" * len(ILLEGAL))
    return conn.execute(
        f"SELECT count(*), coalesce(sum(s.verdict IN ({marks})), 0),"
        f" coalesce(sum(s.verdict IN ({marks}) AND a.status = 'removed'), 0)"
        " FROM addresses a INDEXED BY addresses_first_day LEFT JOIN assessments s ON s.address = a.id"
        " WHERE a.first_day BETWEEN ? AND ?", (*ILLEGAL, *ILLEGAL, *period.bounds)).fetchone()


def _earlier(conn: sqlite3.Connection, period: Period, earlier: tuple[Period, ...]) -> dict:
    """Reports received in the period, and (reports, new, illegal, removed) for each period compared."""
    out: dict = {"reports": _reports_between(conn, period)}
    for p in earlier:
        # For a calendar year of 365 days the previous period is the year before: counted once.
        if p.bounds not in out:
            out[p.bounds] = (_reports_between(conn, p), *_totals(conn, p))
    return out


def _comparison(period: Period, earlier: tuple[Period, ...], cohort: Cohort, counted: dict) -> Table:
    now = (counted["reports"], cohort.new, cohort.illegal, sum(cohort.removal.values()))
    prev, year = (counted[p.bounds] for p in earlier)
    names = ("reports received", "new addresses", "new addresses assessed illegal", "of them removed")
    rows = [(name, now[i], prev[i], Ratio(now[i], prev[i]), year[i], Ratio(now[i], year[i]))
            for i, name in enumerate(names)]
    return Table("comparison", "This period against the one before and the same period a year earlier",
                 ("figure", f"this period ({period})", f"previous ({earlier[0]})", "ratio to previous",
                  f"a year earlier ({earlier[1]})", "ratio to a year earlier"), rows,
                 "A ratio of 3.00 means three times as many as in the period compared.")


def _repeated(conn: sqlite3.Connection, period: Period) -> int:
    """Addresses first reported before the period and named in it. Their first and last days are
    days of reports naming them, so one whose last day falls in the period was named in it; only
    one reported both before and after the period needs its reports looked up (few, and each
    through its own mentions), never every report of the period."""
    return conn.execute(
        "SELECT count(*) FROM addresses a INDEXED BY addresses_first_day WHERE a.first_day < ?1 AND a.last_day >= ?1"
        " AND (a.last_day <= ?2 OR EXISTS (SELECT 1 FROM mentions m JOIN reports r ON r.id = m.report"
        " WHERE m.address = a.id AND r.day BETWEEN ?1 AND ?2))", period.bounds).fetchone()[0]


def _addresses(cohort: Cohort, repeated: int) -> Table:
    return Table("addresses", "Addresses named by the period's reports", ("addresses", "count"),
                 [("named", cohort.new + repeated), ("new: first reported in the period", cohort.new),
                  ("repeated: reported before too", repeated)])


def _verdicts(cohort: Cohort) -> Table:
    assessed = cohort.new - cohort.verdicts[""]
    rows: list[tuple[Cell, ...]] = [(VERDICTS[v], cohort.verdicts[v]) for v in VERDICTS]
    rows.append(("not assessed yet", cohort.verdicts[""]))
    rows.append(("share of the assessed found illegal", Share(cohort.illegal, assessed)))
    return Table("verdicts", "New addresses by verdict", ("verdict", "addresses"), rows)


def _handoffs(conn: sqlite3.Connection, period: Period) -> Table:
    marks = ",".join("?" * len(HANDOFF_STATUSES))
    # The index audit_moves finds the period's status moves without reading any other entry.
    # (covering: the index holds the status and the address too). A status entry always has an address.
    found = dict(conn.execute(
        "SELECT json_extract(entry, '$.data.status'), count(DISTINCT address) FROM audit"
        " WHERE json_extract(entry, '$.action') = 'status' AND json_extract(entry, '$.day') BETWEEN ? AND ?"
        f" AND json_extract(entry, '$.data.status') IN ({marks}) GROUP BY 1",
        (*period.bounds, *HANDOFF_STATUSES)).fetchall())
    return Table("handoffs", "Notices and hand-offs sent in the period", ("sent", "addresses"),
                 [(st, found.get(st, 0)) for st in HANDOFF_STATUSES],
                 "Addresses moved to that status in the period, as the audit log records it.")


def _removal(cohort: Cohort) -> Table:
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
    return Table("removal", "Time from the first report to removal (new addresses assessed illegal)",
                 ("figure", "value"), rows,
                 "Days from the day an address was first reported to the day its status became \"removed\"; "
                 "percentiles by nearest rank. \"Still online\" counts addresses not removed within that many "
                 "days, among those first reported at least that long ago.")


# Days to removal grouped as hotlines publish them: (label, first day, last day or None).
REMOVAL_BINS = (("0 to 2 days", 0, 2), ("3 to 7 days", 3, 7), ("8 to 30 days", 8, 30), ("more than 30 days", 31, None))


def _removal_days(cohort: Cohort) -> Table:
    rows = [(label, sum(n for d, n in cohort.removal.items() if d >= lo and (hi is None or d <= hi)))
            for label, lo, hi in REMOVAL_BINS]
    return Table("removal_days", "Days from the first report to removal", ("days", "addresses"), rows,
                 "New addresses assessed illegal and since removed.")


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


def _campaigns(conn: sqlite3.Connection, campaigns: Sequence[Campaign]) -> Table:
    rows: list[tuple[Cell, ...]] = []
    window = datetime.timedelta(days=CAMPAIGN_WINDOW)
    for c in campaigns:
        before = Period(c.day - window, c.day - datetime.timedelta(days=1))
        after = Period(c.day, c.day + window - datetime.timedelta(days=1))
        n_before, n_after = _reports_between(conn, before), _reports_between(conn, after)
        (tagged,) = conn.execute("SELECT count(*) FROM reports WHERE campaign = ?", (c.tag,)).fetchone()
        rows.append((c.day.isoformat(), c.tag, n_before, n_after, Ratio(n_after, n_before), tagged))
    return Table("campaigns", f"Reports in the {CAMPAIGN_WINDOW} days before and from each campaign's date",
                 ("date", "campaign", "reports before", "reports from", "ratio", "reports carrying the tag (ever)"),
                 rows)

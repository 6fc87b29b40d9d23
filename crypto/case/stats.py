"""`meldpunt case stats`: the hotline's numbers over a period, computed from the case file.

Every figure is one SQL aggregate (GROUP BY, count, a histogram of days), never a Python loop
over rows, so that a case file of a million addresses answers in seconds (bench/stats.py).

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

import datetime
import math
import sqlite3
from dataclasses import dataclass, field

from crypto.case.decisions import AGE_GROUPS, ILLEGAL, VERDICTS
from crypto.case.periods import SQL_BUCKET, Campaign, Period, bucket_label
from crypto.case.schema import STATUSES
from crypto.envelope.report import CHANNELS, FOUND_ON, KINDS, LANGUAGES

HANDOFF_STATUSES = ("notice-sent", "forwarded-police", "forwarded-hotline")
ONLINE_AFTER = (2, 7, 30)  # days after the first report, as hotlines publish removal times
CAMPAIGN_WINDOW = 28  # days before and from a campaign's date compared: four whole weeks


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

    def table(self, name: str) -> Table:
        return next(t for t in self.tables if t.name == name)


def compute(conn: sqlite3.Connection, period: Period, by: str, *, campaigns: list[Campaign] = (),
            as_of: datetime.date | None = None) -> Stats:
    as_of = as_of or datetime.date.today()
    buckets = period.buckets(by)  # checks `by` and the number of buckets first
    tables = [
        _comparison(conn, period),
        _received(conn, period, by, buckets),
        _by_column(conn, period, "language", "reports_by_language", "Reports by language", LANGUAGES),
        _by_column(conn, period, "found_on", "reports_by_place", "Reports by where the material was found", FOUND_ON),
        _by_kind(conn, period),
        _by_channel(conn, period),
        _by_campaign(conn, period),
        _addresses(conn, period),
        _verdicts(conn, period),
        _illegal_by(conn, period, "age_group", "illegal_by_age_group", "New addresses assessed illegal, by age group",
                    AGE_GROUPS),
        _illegal_by(conn, period, "country", "illegal_by_country", "New addresses assessed illegal, by hosting country",
                    None),
        _by_status(conn, period),
        _handoffs(conn, period),
        _removal(conn, period, as_of),
        _removal_days(conn, period),
    ]
    if campaigns:
        tables.append(_campaigns(conn, campaigns))
    return Stats(period, by, as_of, tables, list(campaigns))


def _reports_between(conn: sqlite3.Connection, period: Period) -> int:
    return conn.execute("SELECT count(*) FROM reports WHERE day BETWEEN ? AND ?", period.bounds).fetchone()[0]


def _new_addresses(conn: sqlite3.Connection, period: Period) -> int:
    return conn.execute("SELECT count(*) FROM addresses WHERE first_day BETWEEN ? AND ?", period.bounds).fetchone()[0]


def _illegal_new(conn: sqlite3.Connection, period: Period) -> tuple[int, int]:
    """(new addresses assessed illegal, of them removed)."""
    marks = ",".join("?" * len(ILLEGAL))
    return conn.execute(
        f"SELECT count(*), coalesce(sum(a.status = 'removed'), 0) FROM addresses a JOIN assessments s ON s.address = a.id"
        f" WHERE a.first_day BETWEEN ? AND ? AND s.verdict IN ({marks})", (*period.bounds, *ILLEGAL)).fetchone()


def _comparison(conn: sqlite3.Connection, period: Period) -> Table:
    periods = (period, period.previous(), period.year_earlier())
    figures = {
        "reports received": [_reports_between(conn, p) for p in periods],
        "new addresses": [_new_addresses(conn, p) for p in periods],
    }
    illegal = [_illegal_new(conn, p) for p in periods]
    figures["new addresses assessed illegal"] = [i[0] for i in illegal]
    figures["of them removed"] = [i[1] for i in illegal]
    rows = [(name, now, prev, Ratio(now, prev), year, Ratio(now, year)) for name, (now, prev, year) in figures.items()]
    return Table("comparison", "This period against the one before and the same period a year earlier",
                 ("figure", f"this period ({period})", f"previous ({periods[1]})", "ratio to previous",
                  f"a year earlier ({periods[2]})", "ratio to a year earlier"), rows,
                 "A ratio of 3.00 means three times as many as in the period compared.")


def _received(conn: sqlite3.Connection, period: Period, by: str, buckets: list[str]) -> Table:
    reports = dict(conn.execute(
        f"SELECT {SQL_BUCKET[by].format(col='day')} AS b, count(*) FROM reports WHERE day BETWEEN ? AND ? GROUP BY b",
        period.bounds).fetchall())
    new = dict(conn.execute(
        f"SELECT {SQL_BUCKET[by].format(col='first_day')} AS b, count(*) FROM addresses"
        " WHERE first_day BETWEEN ? AND ? GROUP BY b", period.bounds).fetchall())
    rows = [(bucket_label(b, by), reports.get(b, 0), new.get(b, 0)) for b in buckets]
    return Table("received", f"Reports received and new addresses, by {by}", (by, "reports", "new addresses"), rows,
                 "By the day each report arrived: the finest the case file keeps.")


def _by_column(conn: sqlite3.Connection, period: Period, column: str, name: str, title: str,
               order: tuple[str, ...]) -> Table:
    # `column` is one of this module's constants, never input.
    found = dict(conn.execute(f"SELECT {column}, count(*) FROM reports WHERE day BETWEEN ? AND ? GROUP BY {column}",
                              period.bounds).fetchall())
    return Table(name, title, (column, "reports"), [(code, found.get(code, 0)) for code in order])


def _by_kind(conn: sqlite3.Connection, period: Period) -> Table:
    sums = ", ".join(f"coalesce(sum((';' || kinds || ';') LIKE '%;{k};%'), 0)" for k in KINDS)
    counts = conn.execute(f"SELECT {sums} FROM reports WHERE day BETWEEN ? AND ?", period.bounds).fetchone()
    return Table("reports_by_kind", "Reports by kind of material", ("kind", "reports"), list(zip(KINDS, counts)),
                 "A report may name several kinds, so these add up to more than the reports.")


def _by_channel(conn: sqlite3.Connection, period: Period) -> Table:
    found = dict(conn.execute("SELECT channel, count(*) FROM reports WHERE day BETWEEN ? AND ? GROUP BY channel",
                              period.bounds).fetchall())
    (extension,) = conn.execute("SELECT count(*) FROM reports WHERE day BETWEEN ? AND ? AND via = 'extension'",
                                period.bounds).fetchone()
    rows: list[tuple[Cell, ...]] = [(c, found.get(c, 0)) for c in CHANNELS]
    rows.append(("not recorded", found.get("", 0)))
    rows.append(("filled in by the browser extension", extension))
    return Table("reports_by_channel", "Reports by channel", ("channel", "reports"), rows,
                 "Onion service or the HTTPS site; reports sealed before the channel was recorded are "
                 "\"not recorded\". The extension's reports are also counted in their channel.")


def _by_campaign(conn: sqlite3.Connection, period: Period) -> Table:
    found = conn.execute("SELECT campaign, count(*) FROM reports WHERE day BETWEEN ? AND ? GROUP BY campaign"
                         " ORDER BY campaign = '', campaign", period.bounds).fetchall()
    rows = [(tag or "(none)", n) for tag, n in found]
    return Table("reports_by_campaign", "Reports by campaign tag", ("campaign", "reports"), rows,
                 "The tag a campaign link carried, when the reporter kept it ticked on the form.")


def _addresses(conn: sqlite3.Connection, period: Period) -> Table:
    (named,) = conn.execute(
        "SELECT count(DISTINCT m.address) FROM reports r JOIN mentions m ON m.report = r.id"
        " WHERE r.day BETWEEN ? AND ?", period.bounds).fetchone()
    new = _new_addresses(conn, period)
    # An address first reported in the period is named by one of its reports, so named >= new.
    return Table("addresses", "Addresses named by the period's reports", ("addresses", "count"),
                 [("named", named), ("new: first reported in the period", new),
                  ("repeated: reported before too", named - new)])


def _verdicts(conn: sqlite3.Connection, period: Period) -> Table:
    found = dict(conn.execute(
        "SELECT coalesce(s.verdict, ''), count(*) FROM addresses a LEFT JOIN assessments s ON s.address = a.id"
        " WHERE a.first_day BETWEEN ? AND ? GROUP BY 1", period.bounds).fetchall())
    assessed = sum(n for v, n in found.items() if v)
    illegal = sum(found.get(v, 0) for v in ILLEGAL)
    rows: list[tuple[Cell, ...]] = [(VERDICTS[v], found.get(v, 0)) for v in VERDICTS]
    rows.append(("not assessed yet", found.get("", 0)))
    rows.append(("share of the assessed found illegal", Share(illegal, assessed)))
    return Table("verdicts", "New addresses by verdict", ("verdict", "addresses"), rows)


def _illegal_by(conn: sqlite3.Connection, period: Period, column: str, name: str, title: str,
                order: tuple[str, ...] | None) -> Table:
    marks = ",".join("?" * len(ILLEGAL))
    found = conn.execute(
        f"SELECT s.{column}, count(*) FROM addresses a JOIN assessments s ON s.address = a.id"
        f" WHERE a.first_day BETWEEN ? AND ? AND s.verdict IN ({marks}) GROUP BY s.{column}"
        f" ORDER BY count(*) DESC, s.{column}", (*period.bounds, *ILLEGAL)).fetchall()
    if order is not None:
        counts = dict(found)
        rows = [(code, counts.get(code, 0)) for code in order]
    else:
        rows = [(code or "not found", n) for code, n in found]
    return Table(name, title, (column.replace("_", " "), "addresses"), rows)


def _by_status(conn: sqlite3.Connection, period: Period) -> Table:
    found = dict(conn.execute("SELECT status, count(*) FROM addresses WHERE first_day BETWEEN ? AND ? GROUP BY status",
                              period.bounds).fetchall())
    return Table("new_by_status", "New addresses by status today", ("status", "addresses"),
                 [(s, found.get(s, 0)) for s in STATUSES])


def _handoffs(conn: sqlite3.Connection, period: Period) -> Table:
    marks = ",".join("?" * len(HANDOFF_STATUSES))
    found = dict(conn.execute(
        "SELECT json_extract(entry, '$.data.status') AS st, count(DISTINCT address) FROM audit"
        " WHERE address IS NOT NULL AND json_extract(entry, '$.action') = 'status'"
        f" AND json_extract(entry, '$.day') BETWEEN ? AND ? AND st IN ({marks}) GROUP BY st",
        (*period.bounds, *HANDOFF_STATUSES)).fetchall())
    return Table("handoffs", "Notices and hand-offs sent in the period", ("sent", "addresses"),
                 [(s, found.get(s, 0)) for s in HANDOFF_STATUSES],
                 "Addresses moved to that status in the period, as the audit log records it.")


def _removal(conn: sqlite3.Connection, period: Period, as_of: datetime.date) -> Table:
    marks = ",".join("?" * len(ILLEGAL))
    base = (" FROM addresses a JOIN assessments s ON s.address = a.id"
            f" WHERE a.first_day BETWEEN ? AND ? AND s.verdict IN ({marks})")
    params = (*period.bounds, *ILLEGAL)
    (illegal,) = conn.execute("SELECT count(*)" + base, params).fetchone()
    histogram = removal_histogram(conn, period)
    removed = sum(n for _, n in histogram)
    rows: list[tuple[Cell, ...]] = [
        ("new addresses assessed illegal", illegal),
        ("removed", removed),
        ("median days to removal", Days(percentile(histogram, 0.5), removed)),
        ("90th percentile days to removal", Days(percentile(histogram, 0.9), removed)),
    ]
    for days in ONLINE_AFTER:
        # Only addresses first reported at least `days` ago can have been online that long.
        latest = min(period.end, as_of - datetime.timedelta(days=days)).isoformat()
        eligible, online = conn.execute(
            "SELECT count(*), coalesce(sum(NOT (a.status = 'removed'"
            " AND julianday(a.status_day) - julianday(a.first_day) <= ?)), 0)" + base + " AND a.first_day <= ?",
            (days, *params, latest)).fetchone()
        rows.append((f"still online after {days} days", Share(online, eligible)))
    return Table("removal", "Time from the first report to removal (new addresses assessed illegal)",
                 ("figure", "value"), rows,
                 "Days from the day an address was first reported to the day its status became \"removed\"; "
                 "percentiles by nearest rank. \"Still online\" counts addresses not removed within that many "
                 "days, among those first reported at least that long ago.")


# Days to removal grouped as hotlines publish them: (label, first day, last day or None).
REMOVAL_BINS = (("0 to 2 days", 0, 2), ("3 to 7 days", 3, 7), ("8 to 30 days", 8, 30), ("more than 30 days", 31, None))


def _removal_days(conn: sqlite3.Connection, period: Period) -> Table:
    histogram = removal_histogram(conn, period)
    rows = [(label, sum(n for d, n in histogram if d >= lo and (hi is None or d <= hi))) for label, lo, hi in REMOVAL_BINS]
    return Table("removal_days", "Days from the first report to removal", ("days", "addresses"), rows,
                 "New addresses assessed illegal and since removed.")


def removal_histogram(conn: sqlite3.Connection, period: Period) -> list[tuple[int, int]]:
    """(days from the first report to removal, addresses) for the period's new illegal addresses."""
    return conn.execute(
        "SELECT CAST(julianday(a.status_day) - julianday(a.first_day) AS INTEGER) AS d, count(*)"
        " FROM addresses a JOIN assessments s ON s.address = a.id WHERE a.first_day BETWEEN ? AND ?"
        f" AND s.verdict IN ({','.join('?' * len(ILLEGAL))}) AND a.status = 'removed' GROUP BY d ORDER BY d",
        (*period.bounds, *ILLEGAL)).fetchall()


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


def _campaigns(conn: sqlite3.Connection, campaigns: list[Campaign]) -> Table:
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

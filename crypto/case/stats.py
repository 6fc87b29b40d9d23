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
import sqlite3
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from crypto.case.decisions import AGE_GROUPS, ILLEGAL
from crypto.case.schema import STATUSES
from crypto.case.stats_addresses import (
    Cohort,
    addresses_table,
    cohort,
    removal_days_table,
    removal_table,
    repeated,
    verdicts_table,
)
from crypto.case.stats_periods import Campaign, Period, bucket_label, bucket_of
from crypto.case.stats_tables import Cell, Ratio, Stats, Table
from crypto.envelope.report import CHANNELS, FOUND_ON, KINDS

HANDOFF_STATUSES = ("notice-sent", "forwarded-police", "forwarded-hotline")
CAMPAIGN_WINDOW = 28  # days before and from a campaign's date compared: four whole weeks
# Aggregates run at once: the longest (the period's new addresses) takes about as long as the
# next three together, so more threads gain nothing.
WORKERS = 4


def compute(
    connect: Callable[[], sqlite3.Connection],
    period: Period,
    by: str,
    *,
    campaigns: Sequence[Campaign] = (),
    as_of: datetime.date | None = None,
    workers: int = WORKERS,
) -> Stats:
    """Every table for the period. `connect` opens a connection to the case file: the independent
    aggregates run at once, each in a thread on a connection of its own (SQLite lets go of the
    GIL while it counts, and readers do not block each other), so the machine's cores share them."""
    as_of = as_of or datetime.date.today()
    buckets = period.buckets(by)  # checks `by` and the number of buckets first
    earlier = (period.previous(), period.year_earlier())
    jobs: dict[str, Callable[[sqlite3.Connection], Any]] = {  # the longest first
        "cohort": lambda c: cohort(c, period, as_of),
        "reports": lambda c: _report_groups(c, period),
        "handoffs": lambda c: _handoffs(c, period),
        "earlier": lambda c: _earlier(c, period, earlier),
        "received": lambda c: _received(c, period, by, buckets),
        "repeated": lambda c: repeated(c, period),
        "campaigns": lambda c: _campaigns(c, campaigns) if campaigns else None,
    }
    done = _run(connect, jobs, workers)
    counted, reports = done["cohort"], done["reports"]
    tables = [
        _comparison(period, earlier, counted, done["earlier"]),
        done["received"],
        # The languages are whatever the server offered (a tag each, crypto/envelope/language.py): those
        # the period's reports were written in, by tag.
        _count_table(
            reports, "language", "reports_by_language", "Reports by language", tuple(sorted(reports["language"]))
        ),
        _count_table(reports, "found_on", "reports_by_place", "Reports by where the material was found", FOUND_ON),
        _by_kind(reports),
        _by_channel(reports),
        _by_campaign(reports),
        addresses_table(counted, done["repeated"]),
        verdicts_table(counted),
        Table(
            "illegal_by_age_group",
            "New addresses assessed illegal, by age group",
            ("age group", "addresses"),
            [(g, counted.ages[g]) for g in AGE_GROUPS],
        ),
        Table(
            "illegal_by_country",
            "New addresses assessed illegal, by hosting country",
            ("country", "addresses"),
            [(c or "not found", n) for c, n in sorted(counted.countries.items(), key=lambda cn: (-cn[1], cn[0]))],
        ),
        Table(
            "new_by_status",
            "New addresses by status today",
            ("status", "addresses"),
            [(st, counted.statuses[st]) for st in STATUSES],
        ),
        done["handoffs"],
        removal_table(counted),
        removal_days_table(counted),
    ]
    if done["campaigns"] is not None:
        tables.append(done["campaigns"])
    return Stats(period, by, as_of, tables, list(campaigns))


def _run(
    connect: Callable[[], sqlite3.Connection], jobs: dict[str, Callable[[sqlite3.Connection], Any]], workers: int
) -> dict[str, Any]:
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
        out[column] = Counter(
            dict(
                conn.execute(
                    f"SELECT {column}, count(*) FROM reports WHERE day BETWEEN ? AND ? GROUP BY {column}", period.bounds
                )
            )
        )
    return out


def _reports_between(conn: sqlite3.Connection, period: Period) -> int:
    return conn.execute("SELECT count(*) FROM reports WHERE day BETWEEN ? AND ?", period.bounds).fetchone()[0]


def _received(conn: sqlite3.Connection, period: Period, by: str, buckets: list[str]) -> Table:
    reports: Counter = Counter()
    new: Counter = Counter()
    # Counted per day in the indexes, then put into buckets here (one group per day of the period).
    for day, n in conn.execute(
        "SELECT day, count(*) FROM reports WHERE day BETWEEN ? AND ? GROUP BY day", period.bounds
    ):
        reports[bucket_of(datetime.date.fromisoformat(day), by)] += n
    for day, n in conn.execute(
        "SELECT first_day, count(*) FROM addresses WHERE first_day BETWEEN ? AND ? GROUP BY first_day", period.bounds
    ):
        new[bucket_of(datetime.date.fromisoformat(day), by)] += n
    rows = [(bucket_label(b, by), reports[b], new[b]) for b in buckets]
    return Table(
        "received",
        f"Reports received and new addresses, by {by}",
        (by, "reports", "new addresses"),
        rows,
        "By the day each report arrived: the finest the case file keeps.",
    )


def _count_table(groups: dict[str, Counter], field_name: str, name: str, title: str, order: tuple[str, ...]) -> Table:
    found = groups[field_name]
    return Table(name, title, (field_name.replace("_", " "), "reports"), [(code, found[code]) for code in order])


def _by_kind(groups: dict[str, Counter]) -> Table:
    found: Counter = Counter()
    for kinds, n in groups["kinds"].items():  # one group per combination of kinds: 63 at most
        for kind in kinds.split(";"):
            found[kind] += n
    return Table(
        "reports_by_kind",
        "Reports by kind of material",
        ("kind", "reports"),
        [(k, found[k]) for k in KINDS],
        "A report may name several kinds, so these add up to more than the reports.",
    )


def _by_channel(groups: dict[str, Counter]) -> Table:
    found = groups["channel"]
    rows: list[tuple[Cell, ...]] = [(c, found[c]) for c in CHANNELS]
    rows.append(("not recorded", found[""]))
    rows.append(("filled in by the browser extension", groups["via"]["extension"]))
    return Table(
        "reports_by_channel",
        "Reports by channel",
        ("channel", "reports"),
        rows,
        "Onion service or the HTTPS site; reports sealed before the channel was recorded are "
        '"not recorded". The extension\'s reports are also counted in their channel.',
    )


def _by_campaign(groups: dict[str, Counter]) -> Table:
    found = groups["campaign"]
    rows = [(tag or "(none)", found[tag]) for tag in sorted(found, key=lambda t: (t == "", t))]
    return Table(
        "reports_by_campaign",
        "Reports by campaign tag",
        ("campaign", "reports"),
        rows,
        "The tag a campaign link carried, when the reporter kept it ticked on the form.",
    )


def _totals(conn: sqlite3.Connection, period: Period) -> tuple[int, int, int]:
    """(new addresses, of them assessed illegal, of those removed): the figures compared."""
    marks = ",".join("?" * len(ILLEGAL))
    return conn.execute(
        f"SELECT count(*), coalesce(sum(s.verdict IN ({marks})), 0),"
        f" coalesce(sum(s.verdict IN ({marks}) AND a.status = 'removed'), 0)"
        " FROM addresses a INDEXED BY addresses_first_day LEFT JOIN assessments s ON s.address = a.id"
        " WHERE a.first_day BETWEEN ? AND ?",
        (*ILLEGAL, *ILLEGAL, *period.bounds),
    ).fetchone()


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
    rows = [
        (name, now[i], prev[i], Ratio(now[i], prev[i]), year[i], Ratio(now[i], year[i])) for i, name in enumerate(names)
    ]
    return Table(
        "comparison",
        "This period against the one before and the same period a year earlier",
        (
            "figure",
            f"this period ({period})",
            f"previous ({earlier[0]})",
            "ratio to previous",
            f"a year earlier ({earlier[1]})",
            "ratio to a year earlier",
        ),
        rows,
        "A ratio of 3.00 means three times as many as in the period compared.",
    )


def _handoffs(conn: sqlite3.Connection, period: Period) -> Table:
    marks = ",".join("?" * len(HANDOFF_STATUSES))
    # The index audit_moves finds the period's status moves without reading any other entry.
    # (covering: the index holds the status and the address too). A status entry always has an address.
    found = dict(
        conn.execute(
            "SELECT json_extract(entry, '$.data.status'), count(DISTINCT address) FROM audit"
            " WHERE json_extract(entry, '$.action') = 'status' AND json_extract(entry, '$.day') BETWEEN ? AND ?"
            f" AND json_extract(entry, '$.data.status') IN ({marks}) GROUP BY 1",
            (*period.bounds, *HANDOFF_STATUSES),
        ).fetchall()
    )
    return Table(
        "handoffs",
        "Notices and hand-offs sent in the period",
        ("sent", "addresses"),
        [(st, found.get(st, 0)) for st in HANDOFF_STATUSES],
        "Addresses moved to that status in the period, as the audit log records it.",
    )


def _campaigns(conn: sqlite3.Connection, campaigns: Sequence[Campaign]) -> Table:
    rows: list[tuple[Cell, ...]] = []
    window = datetime.timedelta(days=CAMPAIGN_WINDOW)
    for c in campaigns:
        before = Period(c.day - window, c.day - datetime.timedelta(days=1))
        after = Period(c.day, c.day + window - datetime.timedelta(days=1))
        n_before, n_after = _reports_between(conn, before), _reports_between(conn, after)
        (tagged,) = conn.execute("SELECT count(*) FROM reports WHERE campaign = ?", (c.tag,)).fetchone()
        rows.append((c.day.isoformat(), c.tag, n_before, n_after, Ratio(n_after, n_before), tagged))
    return Table(
        "campaigns",
        f"Reports in the {CAMPAIGN_WINDOW} days before and from each campaign's date",
        ("date", "campaign", "reports before", "reports from", "ratio", "reports carrying the tag (ever)"),
        rows,
    )

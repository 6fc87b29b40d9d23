"""A case file with known content for the statistics tests, and the figures counted independently.

`build(tmp_path)` seals reports across 2019 and 2020 (a campaign on 2020-03-16), imports them
with `meldpunt case import`, then assesses and moves addresses with days of its own choosing. It
returns a `Truth`: every report and address as the test made them, from which `expected_*`
compute each figure with plain Python, never reading the case file.
"""

from __future__ import annotations

import csv
import datetime
import html.parser
import math
import random
import secrets
from collections import Counter
from dataclasses import dataclass, field

from crypto.case.decisions import Assessment, assess, set_status
from crypto.envelope.report import FOUND_ON, KINDS
from tests.crypto.case.casekit import db, ok
from tests.crypto.staff.staffkit import make_report, new_identity, seal, write_bundle

# Languages are tags, not a fixed list (crypto/envelope/language.py): Arabic among the usual four.
LANGUAGES = ("nl", "fr", "de", "en", "ar")

CAMPAIGN_DAY = datetime.date(2020, 3, 16)
CAMPAIGN = "lockdown-2020"
FIRST, LAST = datetime.date(2019, 1, 1), datetime.date(2020, 12, 31)
COUNTRIES = ("NL", "NL", "NL", "US", "US", "DE", "RU", "")
AGES = ("infant", "prepubescent", "prepubescent", "pubescent", "unknown")
VERDICTS = ("baseline", "baseline", "national", "not-illegal", "gone", None)

# The year the tests take stats over (the case file spans 2019 and 2020).
START, END = datetime.date(2020, 1, 1), datetime.date(2020, 12, 31)


def year_stats(case) -> tuple:
    """`meldpunt case stats` over the year the tests take (the command's arguments, to extend)."""
    return ("case", "stats", "--case", case, "--from", START, "--to", END)


@dataclass
class Rep:
    day: datetime.date
    language: str
    found_on: str
    kinds: tuple[str, ...]
    channel: str  # "" for a version 2 report
    via: str
    campaign: str
    urls: tuple[str, ...]


@dataclass
class Addr:
    url: str
    first_day: datetime.date | None = None
    verdict: str | None = None
    age_group: str = "unknown"
    country: str = ""
    moves: list[tuple[str, datetime.date]] = field(default_factory=list)  # (status, day) in order

    @property
    def status(self) -> str:
        if self.moves:
            return self.moves[-1][0]
        return "assessed" if self.verdict else "new"

    @property
    def status_day(self) -> datetime.date | None:
        return self.moves[-1][1] if self.moves else None


@dataclass
class Truth:
    reports: list[Rep]
    addresses: dict[str, Addr]


def _days(rng: random.Random, n: int) -> list[datetime.date]:
    span = (LAST - FIRST).days
    out = []
    for _ in range(n):
        day = FIRST + datetime.timedelta(days=rng.randrange(span + 1))
        # Reports rise after the campaign, as they did after the 2020 lockdown.
        if day < CAMPAIGN_DAY and rng.random() < 0.5:
            day = CAMPAIGN_DAY + datetime.timedelta(days=rng.randrange(60))
        out.append(day)
    return out


def build(tmp_path, *, seed: int = 26, reports: int = 160) -> tuple[object, Truth]:
    rng = random.Random(seed)
    identity, key = new_identity(tmp_path, kind="x25519")
    pool = [f"http://site{i}.test/p{i}" for i in range(90)]
    truth = Truth([], {u: Addr(u) for u in pool})
    items = []
    for day in sorted(_days(rng, reports)):
        old = rng.random() < 0.15 and day < CAMPAIGN_DAY  # sealed before version 3
        rep = Rep(
            day=day,
            language=rng.choice(LANGUAGES[:3] * 3 + LANGUAGES[3:]),
            found_on=rng.choice(FOUND_ON[:4] * 4 + FOUND_ON[4:]),
            kinds=tuple(k for k in KINDS if rng.random() < (0.7 if k == "images" else 0.15)) or ("videos",),
            channel="" if old else rng.choice(("onion", "onion", "https")),
            via="" if old or rng.random() < 0.8 else "extension",
            campaign=CAMPAIGN
            if not old and day >= CAMPAIGN_DAY and rng.random() < 0.3
            else ("c2019" if not old and rng.random() < 0.03 else ""),
            urls=tuple(
                dict.fromkeys(rng.choice(pool[: 20 + len(truth.reports) // 3]) for _ in range(rng.randint(1, 3)))
            ),
        )
        truth.reports.append(rep)
        origin = (
            {"channel": rep.channel, "via": rep.via, "campaign": rep.campaign, "version": 2}
            if old
            else {"channel": rep.channel, "via": rep.via, "campaign": rep.campaign}
        )
        report = make_report(
            len(items),
            urls=rep.urls,
            language=rep.language,
            found_on=rep.found_on,
            kinds=rep.kinds,
            received_on=day.isoformat(),
            **origin,
        )
        items.append((secrets.token_bytes(16), seal(report, [identity.recipient()]), day))
        for u in rep.urls:
            a = truth.addresses[u]
            a.first_day = min(a.first_day or day, day)
    # Two bundles, one a year, as two exports would bring them.
    split = next(i for i, (_, _, d) in enumerate(items) if d.year == 2020)
    write_bundle(tmp_path / "2019.tar", items[:split])
    write_bundle(tmp_path / "2020.tar", items[split:])
    case = tmp_path / "case"
    ok("case", "import", "--case", case, "-i", key, tmp_path / "2019.tar", tmp_path / "2020.tar")
    _decide(case, truth, rng)
    return case, truth


def _decide(case, truth: Truth, rng: random.Random) -> None:
    with db(case) as conn:
        conn.isolation_level = None
        ids = {url: aid for aid, url in conn.execute("SELECT id, url FROM addresses")}
        for url, a in truth.addresses.items():
            if a.first_day is None:
                continue
            a.verdict = rng.choice(VERDICTS)
            if a.verdict is None:
                continue
            a.age_group, a.country = rng.choice(AGES), rng.choice(COUNTRIES)
            assess(
                conn,
                [ids[url]],
                Assessment(a.verdict, a.age_group, a.country, "Host"),
                analyst="A",
                day=(a.first_day + datetime.timedelta(days=1)).isoformat(),
            )
            if a.verdict not in ("baseline", "national"):
                continue
            day = a.first_day + datetime.timedelta(days=rng.randint(0, 3))
            plan = rng.choice(("notice", "police", "removed", "removed", "removed", "still", "none"))
            if plan == "police":
                a.moves.append(("forwarded-police", day))
            elif plan != "none":
                a.moves.append(("notice-sent", day))
                if plan == "removed":
                    a.moves.append(("removed", day + datetime.timedelta(days=rng.choice((0, 1, 2, 5, 9, 20, 40)))))
                elif plan == "still":
                    a.moves.append(("still-online", day + datetime.timedelta(days=30)))
            for status, d in a.moves:
                set_status(conn, [ids[url]], status, analyst="A", day=d.isoformat())


# --- the figures, counted from the Truth alone ------------------------------------------------


def in_period(day, start, end) -> bool:
    return day is not None and start <= day <= end


def previous(start, end):
    n = (end - start).days + 1
    return start - datetime.timedelta(days=n), start - datetime.timedelta(days=1)


def year_earlier(start, end):
    def back(d):
        return d.replace(year=d.year - 1) if not (d.month == 2 and d.day == 29) else d.replace(year=d.year - 1, day=28)

    return back(start), back(end)


def reports_in(truth: Truth, start, end) -> list[Rep]:
    return [r for r in truth.reports if in_period(r.day, start, end)]


def new_in(truth: Truth, start, end) -> list[Addr]:
    return [a for a in truth.addresses.values() if in_period(a.first_day, start, end)]


def illegal_in(truth: Truth, start, end) -> list[Addr]:
    return [a for a in new_in(truth, start, end) if a.verdict in ("baseline", "national")]


def removal_days(a: Addr) -> int | None:
    return (a.status_day - a.first_day).days if a.status == "removed" else None


def nearest_rank(values: list[int], p: float) -> int | None:
    if not values:
        return None
    values = sorted(values)
    return values[max(1, math.ceil(p * len(values))) - 1]


def count_by(items, key) -> Counter:
    return Counter(key(i) for i in items)


# --- reading what `case stats` wrote -------------------------------------------------------------


def read_csv(out, name) -> list[list[str]]:
    with open(out / f"{name}.csv", newline="") as fh:
        return list(csv.reader(fh))


def table(out, name) -> dict[str, list[str]]:
    return {row[0]: row[1:] for row in read_csv(out, name)[1:]}


def counts(out, name) -> dict[str, int]:
    return {k: int(v[0]) for k, v in table(out, name).items()}


class Tables(html.parser.HTMLParser):
    """The rows of every <table> in the page, as text cells; and every tag seen."""

    def __init__(self):
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self.tags: set[str] = set()
        self.attrs: list[tuple[str, str | None]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.attrs += attrs
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th") and self.tables:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def page(out) -> Tables:
    parser = Tables()
    parser.feed((out / "stats.html").read_text())
    return parser

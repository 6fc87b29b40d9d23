"""`meldpunt case stats` on a case file with known content (tests/crypto/case/statskit.py): every
figure of the CSV files and of the HTML page equals the count the test makes from what it sealed
and decided, small counts are hidden as configured, and the page loads and runs nothing."""

from __future__ import annotations

import datetime
import re

import pytest

from crypto.case.decisions import AGE_GROUPS, VERDICTS
from crypto.case.schema import STATUSES
from crypto.envelope.report import FOUND_ON, KINDS
from tests.crypto.case import statskit as sk
from tests.crypto.case.casekit import ok
from tests.crypto.case.statskit import END, START, counts, page, read_csv, table

ILLEGAL = ("baseline", "national")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return sk.build(tmp_path_factory.mktemp("stats"))


@pytest.fixture(scope="module")
def internal(built, tmp_path_factory):
    case, _ = built
    out = tmp_path_factory.mktemp("out") / "internal"
    campaigns = out.parent / "campaigns.txt"
    campaigns.write_text(f"# the hotline's campaigns\n{sk.CAMPAIGN_DAY} {sk.CAMPAIGN}\n\n2019-06-01 c2019\n")
    ok(
        *sk.year_stats(case),
        "--by",
        "month",
        "--campaigns",
        campaigns,
        "--internal",
        "--out",
        out,
    )
    return out


def pct(part, whole) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "n/a"


def ratio(now, then) -> str:
    return f"{now / then:.2f}" if then else "n/a"


def test_reports_by_month_language_place_kind_channel_and_campaign(built, internal):
    _, truth = built
    reps = sk.reports_in(truth, START, END)
    received = table(internal, "received")
    assert list(received) == [f"2020-{m:02d}" for m in range(1, 13)]
    by_month = sk.count_by(reps, lambda r: r.day.isoformat()[:7])
    new_by_month = sk.count_by(sk.new_in(truth, START, END), lambda a: a.first_day.isoformat()[:7])
    assert {k: (int(v[0]), int(v[1])) for k, v in received.items()} == {
        m: (by_month[m], new_by_month[m]) for m in received
    }
    # One row for each language the period's reports were written in, whatever the tag.
    assert counts(internal, "reports_by_language") == dict(sk.count_by(reps, lambda r: r.language))
    assert "ar" in counts(internal, "reports_by_language")
    assert counts(internal, "reports_by_place") == {p: sk.count_by(reps, lambda r: r.found_on)[p] for p in FOUND_ON}
    assert counts(internal, "reports_by_kind") == {k: sum(k in r.kinds for r in reps) for k in KINDS}
    channels = sk.count_by(reps, lambda r: r.channel)
    assert counts(internal, "reports_by_channel") == {
        "onion": channels["onion"],
        "https": channels["https"],
        "not recorded": channels[""],
        "filled in by the browser extension": sum(r.via == "extension" for r in reps),
    }
    tags = sk.count_by(reps, lambda r: r.campaign or "(none)")
    assert counts(internal, "reports_by_campaign") == dict(tags)
    assert tags[sk.CAMPAIGN] >= 5 and channels[""] >= 1 and channels["https"] >= 5  # the data exercises them


def test_addresses_verdicts_ages_countries_and_statuses(built, internal):
    _, truth = built
    reps = sk.reports_in(truth, START, END)
    new = sk.new_in(truth, START, END)
    named = {u for r in reps for u in r.urls}
    assert counts(internal, "addresses") == {
        "named": len(named),
        "new: first reported in the period": len(new),
        "repeated: reported before too": len(named) - len(new),
    }
    assert 0 < len(named) - len(new) and len(new) > 5
    verdicts = table(internal, "verdicts")
    by_verdict = sk.count_by(new, lambda a: a.verdict)
    for code, text in VERDICTS.items():
        assert verdicts[text] == [str(by_verdict[code])]
    assert verdicts["not assessed yet"] == [str(by_verdict[None])]
    assessed = sum(n for v, n in by_verdict.items() if v)
    assert verdicts["share of the assessed found illegal"] == [pct(sum(by_verdict[v] for v in ILLEGAL), assessed)]
    illegal = sk.illegal_in(truth, START, END)
    assert counts(internal, "illegal_by_age_group") == {
        g: sk.count_by(illegal, lambda a: a.age_group)[g] for g in AGE_GROUPS
    }
    assert counts(internal, "illegal_by_country") == {
        c or "not found": n for c, n in sk.count_by(illegal, lambda a: a.country).items()
    }
    assert counts(internal, "new_by_status") == {s: sk.count_by(new, lambda a: a.status)[s] for s in STATUSES}


def test_notices_and_handoffs_come_from_the_moves_made_in_the_period(built, internal):
    _, truth = built
    sent = {
        s: len({a.url for a in truth.addresses.values() for st, d in a.moves if st == s and START <= d <= END})
        for s in ("notice-sent", "forwarded-police", "forwarded-hotline")
    }
    assert counts(internal, "handoffs") == sent and sent["notice-sent"] >= 5


def test_time_to_removal_and_the_share_still_online(built, internal):
    _, truth = built
    illegal = sk.illegal_in(truth, START, END)
    days = [d for d in map(sk.removal_days, illegal) if d is not None]
    removal = table(internal, "removal")
    assert removal["new addresses assessed illegal"] == [str(len(illegal))]
    assert removal["removed"] == [str(len(days))] and len(days) >= 5
    assert removal["median days to removal"] == [str(sk.nearest_rank(days, 0.5))]
    assert removal["90th percentile days to removal"] == [str(sk.nearest_rank(days, 0.9))]
    for n in (2, 7, 30):
        online = [a for a in illegal if sk.removal_days(a) is None or sk.removal_days(a) > n]
        assert removal[f"still online after {n} days"] == [pct(len(online), len(illegal))]
    bins = counts(internal, "removal_days")
    assert bins == {
        "0 to 2 days": sum(d <= 2 for d in days),
        "3 to 7 days": sum(3 <= d <= 7 for d in days),
        "8 to 30 days": sum(8 <= d <= 30 for d in days),
        "more than 30 days": sum(d > 30 for d in days),
    }


def test_the_period_against_the_previous_one_and_a_year_earlier(built, internal):
    _, truth = built
    spans = [(START, END), sk.previous(START, END), sk.year_earlier(START, END)]
    assert spans[1] == (datetime.date(2018, 12, 31), datetime.date(2019, 12, 31))  # 2020 has 366 days

    def figures(s, e):
        illegal = sk.illegal_in(truth, s, e)
        return {
            "reports received": len(sk.reports_in(truth, s, e)),
            "new addresses": len(sk.new_in(truth, s, e)),
            "new addresses assessed illegal": len(illegal),
            "of them removed": sum(a.status == "removed" for a in illegal),
        }

    now, prev, year = (figures(*s) for s in spans)
    comparison = table(internal, "comparison")
    for name in now:
        assert comparison[name] == [
            str(now[name]),
            str(prev[name]),
            ratio(now[name], prev[name]),
            str(year[name]),
            ratio(now[name], year[name]),
        ], name
    assert now["reports received"] > 1.5 * prev["reports received"]  # the campaign moved the numbers


def test_each_campaign_compared_before_and_after_its_date(built, internal):
    _, truth = built
    rows = read_csv(internal, "campaigns")[1:]
    assert [r[:2] for r in rows] == [["2019-06-01", "c2019"], [str(sk.CAMPAIGN_DAY), sk.CAMPAIGN]]
    for day_text, tag, before, after, r, tagged in rows:
        day = datetime.date.fromisoformat(day_text)
        b = len(sk.reports_in(truth, day - datetime.timedelta(days=28), day - datetime.timedelta(days=1)))
        a = len(sk.reports_in(truth, day, day + datetime.timedelta(days=27)))
        assert [before, after, r, tagged] == [
            str(b),
            str(a),
            ratio(a, b),
            str(sum(rep.campaign == tag for rep in truth.reports)),
        ]


def test_the_page_shows_every_table_exactly_as_its_csv(internal):
    parsed = page(internal)
    names = sorted(p.stem for p in internal.glob("*.csv"))
    assert len(names) == 16
    csvs = [read_csv(internal, n) for n in names]
    assert sorted(map(str, parsed.tables)) == sorted(map(str, csvs))
    # Self-contained: no script, nothing loaded, one inline SVG chart per charted table (drawn by
    # matplotlib: tests/crypto/case/test_case_stats_charts.py), whose only references are to itself.
    assert "script" not in parsed.tags and not {"img", "link", "iframe", "object"} & parsed.tags
    assert not [v for k, v in parsed.attrs if k in ("src", "href", "xlink:href") and v and not v.startswith("#")]
    assert parsed.tags >= {"svg", "title", "path", "use"}
    text = (internal / "stats.html").read_text()
    assert text.count("<svg ") == 6 and "default-src 'none'" in text and "Internal: every figure is exact" in text
    received = re.search(r'<svg[^>]*aria-labelledby="chart-received-t".*?</svg>', text, re.S).group(0)
    assert f'<title id="chart-received-t">Reports received by month; campaign dates marked: {sk.CAMPAIGN}' in received


def test_small_counts_are_hidden_outside_the_hotline(built, internal, tmp_path):
    case, _ = built
    out = tmp_path / "public"
    ok(*sk.year_stats(case), "--by", "week", "--out", out)
    exact = tmp_path / "exact"
    ok(*sk.year_stats(case), "--by", "week", "--internal", "--out", exact)
    hidden = shown = 0
    for path in sorted(exact.glob("*.csv")):
        if path.stem == "reports_by_campaign":
            continue  # its rare tags are merged (below)
        for row_exact, row_public in zip(read_csv(exact, path.stem), read_csv(out, path.stem), strict=True):
            for e, p in zip(row_exact, row_public, strict=True):
                if re.fullmatch(r"\d+", e):
                    n = int(e)
                    assert p == ("< 5" if 0 < n < 5 else e), (path.stem, row_exact)
                    hidden += 0 < n < 5
                    shown += n >= 5
                elif e.endswith("%") or re.fullmatch(r"\d+\.\d\d", e):
                    assert p in (e, "suppressed")
    assert hidden > 10 and shown > 10
    # Shares from small counts are hidden too; the weekly table has 53 weeks.
    assert table(out, "removal")["median days to removal"] != ["suppressed"]
    assert len(table(out, "received")) == 53
    text = (out / "stats.html").read_text()
    assert "&lt; 5" in text and "Internal" not in text
    # A rare campaign tag is not named outside the hotline: it is merged with the other rare ones.
    assert 0 < int(table(exact, "reports_by_campaign")["c2019"][0]) < 5
    assert "c2019" not in table(out, "reports_by_campaign") and "c2019" not in text
    assert table(out, "reports_by_campaign")["other tags (each on fewer than 5 reports)"] == ["< 5"]
    # A threshold of 10 hides more; --internal is never the default.
    ten = tmp_path / "ten"
    ok(*sk.year_stats(case), "--threshold", 10, "--out", ten)
    cells = {c for path in ten.glob("*.csv") for row in read_csv(ten, path.stem) for c in row}
    assert "< 10" in cells and "< 5" not in cells


@pytest.mark.parametrize(
    "start,end",
    [
        ("2019-06-01", "2019-08-31"),
        ("2020-03-16", "2020-03-31"),
        ("2019-01-01", "2020-12-31"),
        ("2020-12-30", "2020-12-31"),
    ],
)
def test_addresses_named_in_a_period_between_earlier_and_later_reports(built, tmp_path, start, end):
    case, truth = built
    s, e = datetime.date.fromisoformat(start), datetime.date.fromisoformat(end)
    out = tmp_path / "out"
    ok("case", "stats", "--case", case, "--from", start, "--to", end, "--internal", "--out", out)
    named = {u for r in sk.reports_in(truth, s, e) for u in r.urls}
    new = sk.new_in(truth, s, e)
    days = {u: [r.day for r in truth.reports if u in r.urls] for u in truth.addresses}
    # The middle period has addresses reported before and after it, some of them in it too.
    around = {u for u, d in days.items() if d and min(d) < s and max(d) > e}
    if start == "2019-06-01":
        assert around - named and around & named
    assert counts(out, "addresses") == {
        "named": len(named),
        "new: first reported in the period": len(new),
        "repeated: reported before too": len(named) - len(new),
    }

"""The charts of `meldpunt case stats`' page: drawn by matplotlib (the `stats` extra) as SVG inside
the page, self-contained and the same for the same case file on any machine; without matplotlib,
the page has every table and says how to get the charts (tests/crypto/case/test_case_stats.py
checks every figure; the browser test, that Chromium shows the charts with JavaScript off)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from crypto.case.stats_charts import BAR, Point, bar_chart
from crypto.case.stats_output import NO_CHARTS
from tests.crypto.case import statskit as sk
from tests.crypto.case.statskit import page, read_csv
from tests.kit import ROOT

CHARTED = (
    "received",
    "reports_by_place",
    "reports_by_kind",
    "reports_by_channel",
    "illegal_by_country",
    "removal_days",
)
# matplotlib, as the offline machine without the `stats` extra has it: not there.
HIDE_MATPLOTLIB = """
import sys
class NotInstalled:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] == "matplotlib":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, NotInstalled())
"""
COMMAND = "from meldpunt.cli import main; sys.exit(main())"


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    base = tmp_path_factory.mktemp("charts")
    case_dir, _ = sk.build(base)
    (base / "campaigns.txt").write_text(f"{sk.CAMPAIGN_DAY} {sk.CAMPAIGN}\n")
    return base, case_dir


def stats(base, case_dir, out, *, prelude="import sys", env=None):
    """`meldpunt case stats` for 2020 by week, in a process of its own (matplotlib's settings and
    whether it can be imported are per process)."""
    args = [
        sys.executable,
        "-c",
        f"{prelude}\n{COMMAND}",
        "case",
        "stats",
        "--case",
        str(case_dir),
        "--from",
        "2020-01-01",
        "--to",
        "2020-12-31",
        "--by",
        "week",
        "--campaigns",
        str(base / "campaigns.txt"),
        "--out",
        str(out),
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    result = subprocess.run(args, capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    return result


@pytest.fixture(scope="module")
def drawn(case):
    base, case_dir = case
    stats(base, case_dir, base / "drawn")
    return (base / "drawn" / "stats.html").read_text()


def charts(text: str) -> dict[str, str]:
    found = dict(re.findall(r'(<svg [^>]*aria-labelledby="chart-(\w+)-t".*?</svg>)', text, re.S))
    return {name: svg for svg, name in found.items()}


def test_each_chart_is_matplotlibs_svg_named_for_screen_readers_and_refers_to_itself_only(drawn):
    found = charts(drawn)
    assert sorted(found) == sorted(CHARTED) and drawn.count("<svg ") == len(CHARTED)
    ids = re.findall(r'\sid="([^"]+)"', drawn)
    assert len(ids) == len(set(ids))  # six charts in one page: no id twice
    for name, svg in found.items():
        chart = f"chart-{name}"
        assert svg.startswith("<svg ") and ' role="img" ' in svg
        assert re.search(rf'<title id="{chart}-t">[^<]+</title>', svg)
        # Drawn by matplotlib: its axes, its axis groups, its letters as paths of the font it ships.
        assert f'id="{chart}-axes_1"' in svg and f'id="{chart}-matplotlib.axis_1"' in svg
        assert re.search(rf'<path id="{chart}-DejaVuSans-\w+" d="M ', svg)
        # No text left to a font, no font loaded, no date, nothing outside the chart referred to.
        assert not re.search(r"<text\b|font-family|@font-face|<metadata|<!--|<\?xml|DOCTYPE", svg)
        own = set(re.findall(r'\sid="([^"]+)"', svg))
        refs = re.findall(r'(?:href="|url\()([^")]*)', svg)
        assert refs and all(r.startswith("#") and r[1:] in own for r in refs), name
        assert set(re.findall(r"https?://[^\"' ]+", svg)) == {
            "http://www.w3.org/2000/svg",
            "http://www.w3.org/1999/xlink",
        }
    received = found["received"]
    assert f"campaign dates marked: {sk.CAMPAIGN} ({sk.CAMPAIGN_DAY})</title>" in received
    assert 'id="chart-received-campaign-1"' in received  # the dashed line at the campaign's week


def test_the_same_case_file_gives_the_same_page_whatever_the_machines_matplotlib_settings(case, drawn, tmp_path):
    base, case_dir = case
    rc = tmp_path / "matplotlibrc"
    rc.write_text("font.size: 20\nsvg.fonttype: none\nsvg.hashsalt: other\nfont.family: serif\naxes.facecolor: black\n")
    stats(base, case_dir, tmp_path / "out", env={"MATPLOTLIBRC": str(rc), "SOURCE_DATE_EPOCH": "1600000000"})
    assert (tmp_path / "out" / "stats.html").read_text() == drawn


def test_without_the_stats_extra_the_page_has_every_table_and_says_how_to_get_the_charts(case, tmp_path):
    base, case_dir = case
    out = tmp_path / "out"
    result = stats(base, case_dir, out, prelude=HIDE_MATPLOTLIB)
    assert "pip install meldpunt[stats]" in result.stderr and "Wrote 17 files" in result.stdout
    text = (out / "stats.html").read_text()
    assert "<svg" not in text and "matplotlib" in text and "pip install meldpunt[stats]" in text
    assert f'<p class="banner" id="no-charts">{NO_CHARTS}</p>' in text
    parsed = page(out)
    csvs = [read_csv(out, p.stem) for p in sorted(out.glob("*.csv"))]
    assert len(csvs) == 16 and sorted(map(str, parsed.tables)) == sorted(map(str, csvs))


def _bar_widths(svg: str) -> list[float]:
    """The width of each bar (the patches filled with the bars' colour), from its outline's x coordinates."""
    widths = []
    for d in re.findall(rf'<path d="([^"]+)"[^>]*style="fill: {BAR}"', svg):
        xs = [float(x) for x in re.findall(r"[ML] ([-\d.]+) ", d)]
        widths.append(max(xs) - min(xs))
    return widths


def test_a_suppressed_count_is_drawn_as_no_bar():
    svg = bar_chart("c", "kinds", [Point("images", 12, "12"), Point("videos", None, "< 5"), Point("text", 6, "6")])
    first, hidden, last = _bar_widths(svg)
    assert first > last > 0 and hidden == 0 and abs(first / last - 2) < 0.01

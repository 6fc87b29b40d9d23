"""The statistics page in Debian's Chromium: it shows its charts with JavaScript off, loads nothing,
and passes axe-core with no violation at all (tests/onion_service/web/a11y has axe-core)."""

from __future__ import annotations

import datetime

import pytest

from tests.crypto.case import statskit as sk
from tests.crypto.case.casekit import ok
from tests.kit import CHROMIUM_FLAGS, ROOT

pytestmark = pytest.mark.browser
AXE = ROOT / "tests" / "onion_service" / "web" / "a11y" / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = "/usr/lib/chromium/chromium"
ARTIFACTS = ROOT / "test-artifacts" / "case"


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    base = tmp_path_factory.mktemp("stats-browser")
    case, _ = sk.build(base)
    (base / "campaigns.txt").write_text(f"{sk.CAMPAIGN_DAY} {sk.CAMPAIGN}\n")
    out = {}
    for name, extra in (("public", ()), ("internal", ("--internal",))):
        out[name] = base / name
        ok(
            "case",
            "stats",
            "--case",
            case,
            "--from",
            datetime.date(2020, 1, 1),
            "--to",
            datetime.date(2020, 12, 31),
            "--by",
            "week",
            "--campaigns",
            base / "campaigns.txt",
            "--out",
            out[name],
            *extra,
        )
    return out


@pytest.fixture(scope="module")
def browser(playwright):
    b = playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=[a for a in CHROMIUM_FLAGS if a != "--headless"]
    )
    yield b
    b.close()


@pytest.mark.parametrize("name", ["public", "internal"])
def test_the_page_shows_its_charts_with_javascript_off_and_loads_nothing(pages, browser, name):
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1000, "height": 1400})
    requested = []
    context.on("request", lambda r: requested.append(r.url))
    page = context.new_page()
    page.goto((pages[name] / "stats.html").as_uri())
    charts = page.locator("figure svg[role=img]")
    assert charts.count() == 6
    for i in range(charts.count()):
        box = charts.nth(i).bounding_box()
        assert box and box["width"] > 300 and box["height"] > 80
        # matplotlib's drawing, its letters as paths: its axes are there and take up room.
        axes = charts.nth(i).locator("g[id$='-axes_1']").bounding_box()
        assert axes and axes["width"] > 0.5 * box["width"] and axes["height"] > 0.3 * box["height"]
    assert page.locator("figure svg use").count() > 200  # letters and ticks drawn
    # The campaign's dashed line stands across the chart of reports received (a vertical line: no width).
    mark = page.locator("#chart-received-campaign-1").bounding_box()
    assert mark and mark["height"] > 100
    assert sk.CAMPAIGN in page.locator("#chart-received-t").text_content()
    assert page.locator("#no-charts").count() == 0
    assert requested == [(pages[name] / "stats.html").as_uri()]  # nothing else loaded
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"stats-{name}.png"), full_page=True)
    context.close()


@pytest.mark.parametrize("name", ["public", "internal"])
def test_the_page_passes_axe(pages, browser, name):
    if not AXE.is_file():
        pytest.fail("axe-core is missing: run make npm-deps")
    # axe is a script: injected into a context of its own, with the page's CSP bypassed.
    context = browser.new_context(bypass_csp=True, java_script_enabled=True)
    page = context.new_page()
    page.goto((pages[name] / "stats.html").as_uri())
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    context.close()
    assert [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in result["violations"]] == []

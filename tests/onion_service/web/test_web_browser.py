"""Headless Chromium with JavaScript disabled fills in and submits the form in each language.

Screenshots of the form and the thank-you page go to test-artifacts/web/.
"""

from __future__ import annotations

import time

import pytest

from onion_service.languages import installed
from onion_service.store import open_store
from tests.harness import Server, make_config, write_config
from tests.kit import chromium, wait_for
from tests.onion_service.web.webkit import ROOT

pytestmark = pytest.mark.browser
ARTIFACTS = ROOT / "test-artifacts" / "web"


def thanks_heading(lang: str) -> str:
    """The thank-you page's heading in `lang`, as its catalogue says it."""
    from babel.support import Translations

    from onion_service import languages

    return Translations.load(str(languages.TRANSLATIONS), [lang]).gettext("Thank you for your report")


@pytest.fixture(scope="module")
def browser_server(tmp_path_factory, staff):
    base = tmp_path_factory.mktemp("browser")
    (base / "tmp").mkdir()
    config = make_config(base / "data", staff.recipient, form_min_seconds=1)
    write_config(base / "m.toml", base / "data", staff.recipient, form_min_seconds=1)
    server = Server(base / "m.toml", base / "logs", tmpdir=base / "tmp").start()
    yield server, config
    server.stop()


@pytest.fixture(scope="module")
def driver():
    with chromium(height=2600, page_load_timeout=30) as d:
        yield d


# Dutch in `make check`; the other languages in `make test` only (each is a few seconds of Chromium).
# Every installed language (Arabic has a test of its own below).
@pytest.mark.parametrize(
    "lang",
    [lang if lang == "nl" else pytest.param(lang, marks=pytest.mark.slow) for lang in installed() if lang != "ar"],
)
def test_fill_and_submit_without_javascript(browser_server, driver, staff, lang):
    from selenium.webdriver.common.by import By

    server, config = browser_server
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    base = f"http://127.0.0.1:{server.port}"
    driver.get(f"{base}/{lang}/?url=http%3A%2F%2Fexample.org%2Ffrom-link")
    assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == lang
    urls = driver.find_element(By.ID, "urls")
    assert urls.get_attribute("value") == "http://example.org/from-link"  # pre-filled, not sent
    # The stylesheet applied (loaded from our own origin): the honeypot is moved off-screen.
    honeypot = driver.find_element(By.ID, "homepage")
    assert honeypot.location["x"] < 0
    driver.save_screenshot(str(ARTIFACTS / f"form-{lang}.png"))

    urls.send_keys("\nexample.net/second")
    driver.find_element(By.CSS_SELECTOR, "label[for=found_on-forum]").click()
    driver.find_element(By.CSS_SELECTOR, "label[for=kinds-images]").click()
    driver.find_element(By.ID, "description").send_keys(f"browser test {lang}")
    driver.find_element(By.ID, "danger-yes").click()
    time.sleep(config.limits.form_min_seconds + 0.2)
    before = _count(config)
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(driver, ".code strong", within=15)  # the thank-you page, not the form it replaces
    assert thanks_heading(lang) in driver.find_element(By.TAG_NAME, "h1").text
    receipt = driver.find_element(By.CSS_SELECTOR, ".code strong").text
    assert len(receipt) == 19 and receipt.count("-") == 3
    assert driver.find_element(By.CSS_SELECTOR, ".urgent .number").text == "101"
    driver.save_screenshot(str(ARTIFACTS / f"thanks-{lang}.png"))
    assert _count(config) == before + 1
    # Opened offline, the report says which language it was written in.
    store = open_store(config.database_url)
    try:
        [report] = [r for r in (staff.open(row.sealed) for row in store.pending()) if r.receipt == receipt]
    finally:
        store.close()
    assert report.language == lang and report.description == f"browser test {lang}"


def test_errors_are_shown_next_to_their_fields(browser_server, driver):
    from selenium.webdriver.common.by import By

    server, config = browser_server
    driver.get(f"http://127.0.0.1:{server.port}/fr/")
    time.sleep(config.limits.form_min_seconds + 0.2)
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(driver, ".summary", within=15)
    assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "fr"
    summary = driver.find_element(By.CSS_SELECTOR, ".summary")
    assert "Veuillez indiquer au moins une adresse." in summary.text
    assert driver.find_element(By.ID, "urls").get_attribute("aria-invalid") == "true"
    driver.save_screenshot(str(ARTIFACTS / "errors-fr.png"))


def _count(config) -> int:
    store = open_store(config.database_url)
    try:
        return store.count()
    finally:
        store.close()


def test_narrow_window_as_at_200_percent_zoom_needs_no_sideways_scrolling(browser_server, driver):
    """A 550 px wide window shows what a 1100 px screen shows at 200 % zoom."""
    from selenium.webdriver.common.by import By

    server, _ = browser_server
    driver.set_window_size(550, 1400)
    try:
        driver.get(f"http://127.0.0.1:{server.port}/de/")
        width = driver.find_element(By.TAG_NAME, "body").size["width"]
        assert width <= 550
        for selector in ("#urls", "#description", "fieldset", "button[type=submit]", ".exit", ".langs"):
            element = driver.find_element(By.CSS_SELECTOR, selector)
            assert element.location["x"] >= 0 and element.location["x"] + element.size["width"] <= width, selector
        driver.save_screenshot(str(ARTIFACTS / "form-de-narrow.png"))
    finally:
        driver.set_window_size(1100, 2600)


def test_arabic_right_to_left_files_a_report_that_opens_offline_in_arabic(browser_server, driver, staff):
    """The page mirrors (dir="rtl", logical properties), the switcher heads it, addresses and the
    receipt code stay left to right, and the report staff open says it was written in Arabic."""
    from selenium.webdriver.common.by import By

    server, config = browser_server
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    driver.get(f"http://127.0.0.1:{server.port}/ar/?url=http%3A%2F%2Fexample.org%2Fright-to-left")
    html = driver.find_element(By.TAG_NAME, "html")
    assert (html.get_attribute("lang"), html.get_attribute("dir")) == ("ar", "rtl")
    width = driver.find_element(By.TAG_NAME, "body").size["width"]
    # Mirrored: the header's first item (the language switcher) starts at the right.
    first = driver.find_element(By.CSS_SELECTOR, ".langs li:first-child a")
    assert first.location["x"] + first.size["width"] > width / 2
    urls = driver.find_element(By.ID, "urls")
    assert urls.value_of_css_property("direction") == "ltr"
    honeypot = driver.find_element(By.ID, "homepage")
    assert honeypot.location["x"] < 0 or honeypot.location["x"] > width  # off-screen, at the start side
    driver.save_screenshot(str(ARTIFACTS / "form-ar.png"))

    driver.find_element(By.CSS_SELECTOR, "label[for=found_on-website]").click()
    driver.find_element(By.CSS_SELECTOR, "label[for=kinds-videos]").click()
    driver.find_element(By.ID, "description").send_keys("وصف قصير للاختبار")
    driver.find_element(By.ID, "danger-yes").click()
    time.sleep(config.limits.form_min_seconds + 0.2)
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(driver, ".code strong", within=15)
    assert "شكرًا على بلاغك" in driver.find_element(By.TAG_NAME, "h1").text
    code = driver.find_element(By.CSS_SELECTOR, ".code")
    assert code.value_of_css_property("direction") == "ltr"
    receipt = code.text
    driver.save_screenshot(str(ARTIFACTS / "thanks-ar.png"))

    store = open_store(config.database_url)
    try:
        opened = [staff.open(row.sealed) for row in store.pending()]
    finally:
        store.close()
    [report] = [r for r in opened if r.receipt == receipt]
    assert report.language == "ar" and report.description == "وصف قصير للاختبار"
    assert report.urls == ("http://example.org/right-to-left",)

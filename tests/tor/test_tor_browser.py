"""Headless Chromium, JavaScript disabled, fills in and submits the form over the onion.

Chromium talks only to the client tor's SOCKS port; every name resolves through it (a .onion name
cannot resolve anywhere else). Screenshots go to test-artifacts/tor/.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time

import pytest

from onion_service.store import open_store

from torkit import ARTIFACTS, Serve, fetch_until, write_config

pytestmark = [pytest.mark.tor, pytest.mark.browser]


@pytest.fixture(scope="module")
def onion(tmp_path_factory, tor_network, staff):
    base = tmp_path_factory.mktemp("browser-serve")
    config = write_config(base / "meldpunt.toml", base / "data", staff.recipient,
                          f"127.0.0.1:{tor_network.hs_control_port}")
    serve = Serve(config, base / "serve.log")
    try:
        fetch_until(f"http://{serve.hostname}/", tor_network.socks_port, within=60)
        yield serve, base / "data"
    finally:
        serve.stop()


@pytest.fixture(scope="module")
def driver(tor_network):
    if not shutil.which("chromium") or not shutil.which("chromedriver"):
        pytest.fail("Debian's chromium and chromium-driver are needed (make test-deps installs them)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="meldpunt-tor-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for arg in (f"--proxy-server=socks5://127.0.0.1:{tor_network.socks_port}",
                "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--window-size=1100,2400"):
        options.add_argument(arg)
    options.add_experimental_option("prefs", {"profile.managed_default_content_settings.javascript": 2})
    d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    # The client's SOCKS port takes .onion names only (OnionTrafficOnly): Chromium's own background
    # requests fail at once there, instead of holding its first tab (and chromedriver) for 30 s.
    d.set_page_load_timeout(60)
    try:
        yield d
    finally:
        d.quit()
        shutil.rmtree(profile, ignore_errors=True)


def test_chromium_without_javascript_submits_the_form_over_the_onion(onion, driver, staff):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    serve, data_dir = onion
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    driver.get(f"http://{serve.hostname}/en/")
    assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
    # The stylesheet came over the onion too: the honeypot field is moved off-screen by it.
    assert driver.find_element(By.ID, "homepage").location["x"] < 0
    driver.save_screenshot(str(ARTIFACTS / "form-over-onion.png"))

    description = f"chromium over tor {os.urandom(4).hex()}"
    driver.find_element(By.ID, "urls").send_keys("http://example.org/seen-in-chromium")
    driver.find_element(By.CSS_SELECTOR, "label[for=found_on-forum]").click()
    driver.find_element(By.CSS_SELECTOR, "label[for=kinds-videos]").click()
    driver.find_element(By.ID, "description").send_keys(description)
    time.sleep(1.2)  # form_min_seconds = 1
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    WebDriverWait(driver, 60).until(
        expected_conditions.presence_of_element_located((By.CSS_SELECTOR, ".code strong")))
    receipt = driver.find_element(By.CSS_SELECTOR, ".code strong").text
    driver.save_screenshot(str(ARTIFACTS / "thanks-over-onion.png"))

    store = open_store(f"sqlite:///{data_dir}/reports.sqlite3")
    try:
        opened = [staff.open(row.sealed) for row in store.pending()]
    finally:
        store.close()
    mine = [r for r in opened if r.description == description]
    assert len(mine) == 1 and mine[0].receipt == receipt
    assert mine[0].urls == ("http://example.org/seen-in-chromium",) and mine[0].kinds == ("videos",)

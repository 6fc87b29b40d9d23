"""Headless Chromium, JavaScript disabled, fills in and submits the form over the onion.

Chromium talks only to the client tor's SOCKS port; every name resolves through it (a .onion name
cannot resolve anywhere else). Screenshots go to test-artifacts/tor/.
"""

from __future__ import annotations

import os
import time

import pytest

from onion_service.store import open_store
from tests.kit import chromium, wait_for
from tests.onion_service.tor.torkit import ARTIFACTS, Serve, fetch_until, write_config

pytestmark = [pytest.mark.tor, pytest.mark.browser]


@pytest.fixture(scope="module")
def onion(tmp_path_factory, tor_network, staff):
    base = tmp_path_factory.mktemp("browser-serve")
    config = write_config(
        base / "meldpunt.toml", base / "data", staff.recipient, f"127.0.0.1:{tor_network.hs_control_port}"
    )
    serve = Serve(config, base / "serve.log")
    try:
        fetch_until(f"http://{serve.hostname}/", tor_network.socks_port, within=60)
        yield serve, base / "data"
    finally:
        serve.stop()


@pytest.fixture(scope="module")
def driver(tor_network):
    # The client's SOCKS port takes .onion names only (OnionTrafficOnly): Chromium's own background
    # requests fail at once there, instead of holding its first tab (and chromedriver) for 30 s.
    with chromium(
        f"--proxy-server=socks5://127.0.0.1:{tor_network.socks_port}",
        "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
        height=2400,
        page_load_timeout=60,
    ) as d:
        yield d


def test_chromium_without_javascript_submits_the_form_over_the_onion(onion, driver, staff):
    from selenium.webdriver.common.by import By

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
    receipt = wait_for(driver, ".code strong", within=60).text
    driver.save_screenshot(str(ARTIFACTS / "thanks-over-onion.png"))

    store = open_store(f"sqlite:///{data_dir}/reports.sqlite3")
    try:
        opened = [staff.open(row.sealed) for row in store.pending()]
    finally:
        store.close()
    mine = [r for r in opened if r.description == description]
    assert len(mine) == 1 and mine[0].receipt == receipt
    assert mine[0].urls == ("http://example.org/seen-in-chromium",) and mine[0].kinds == ("videos",)

"""The reporter's follow-up, end to end over the private Tor network: a report filed in Chromium
with JavaScript off, exported, imported into a case file, given a status and signed offline; the
signed file imported on the server; the receipt code then shows that status over the onion in
each language. The code in clear is nowhere on the server afterwards."""

from __future__ import annotations

import time

import pytest

from crypto.age import keys
from tests.clirun import meldpunt
from tests.kit import chromium, wait_for
from tests.onion_service.tor.torkit import ARTIFACTS, Serve, fetch_until, write_config

pytestmark = [pytest.mark.tor, pytest.mark.browser]

# The status heading and the message in each language (the catalogs' own words).
SHOWN = {
    "en": ("Passed on", "hotline in that country"),
    "nl": ("Doorgegeven", "meldpunt in dat land"),
    "fr": ("Transmis", "hotline de ce pays"),
    "de": ("Weitergeleitet", "Meldestelle in diesem Land"),
}


def test_a_status_signed_offline_shows_over_the_onion_in_each_language(tmp_path, tor_network, staff):
    from selenium.webdriver.common.by import By

    offline, data = tmp_path / "offline", tmp_path / "data"
    offline.mkdir()
    public = (
        meldpunt("case", "signing-key", "-o", str(offline / "status.key"), "--no-passphrase", check=True)
        .stdout.decode()
        .strip()
    )
    config = write_config(
        tmp_path / "meldpunt.toml",
        data,
        staff.recipient,
        f"127.0.0.1:{tor_network.hs_control_port}",
        status_public_key=public,
    )
    serve = Serve(config, tmp_path / "serve.log")
    try:
        base = f"http://{serve.hostname}"
        fetch_until(f"{base}/", tor_network.socks_port, within=60)
        with chromium(
            f"--proxy-server=socks5://127.0.0.1:{tor_network.socks_port}",
            "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
            height=1400,
            page_load_timeout=60,
        ) as driver:
            driver.get(f"{base}/en/")
            driver.find_element(By.ID, "urls").send_keys("http://example.org/followed-up")
            driver.find_element(By.CSS_SELECTOR, "label[for=found_on-website]").click()
            driver.find_element(By.CSS_SELECTOR, "label[for=kinds-images]").click()
            time.sleep(1.2)  # form_min_seconds = 1
            driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
            receipt = wait_for(driver, ".code strong", within=60).text
            driver.find_element(By.CSS_SELECTOR, 'a[href="/en/status"]')  # the thank-you page links to it

            # Offline: export, import into a case file, set the status, sign.
            (offline / "staff.key").write_text(keys.identity_file_text(staff.identities[0]))
            meldpunt("export", "--config", str(config), "--out", str(offline / "bundle.tar"), check=True)
            case = ("--case", str(offline / "case"))
            analyst = ("--analyst", "Analyst One")
            meldpunt(
                "case",
                "import",
                *case,
                *analyst,
                "-i",
                str(offline / "staff.key"),
                str(offline / "bundle.tar"),
                check=True,
            )
            meldpunt("case", "report-status", *case, *analyst, "--message", "abroad", receipt, "forwarded", check=True)
            meldpunt(
                "case",
                "statuses",
                *case,
                *analyst,
                "--sign-key",
                str(offline / "status.key"),
                "--out",
                str(offline / "statuses"),
                check=True,
            )
            imported = meldpunt("statuses", "import", "--config", str(config), str(offline / "statuses"), check=True)

            for lang, (heading, message) in SHOWN.items():
                driver.get(f"{base}/{lang}/status")
                assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == lang
                driver.find_element(By.ID, "code").send_keys(receipt.lower())
                time.sleep(1.2)
                driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
                result = wait_for(driver, ".result", within=60)
                assert heading in result.text and message in result.text, (lang, result.text)
                assert receipt not in driver.current_url
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            driver.save_screenshot(str(ARTIFACTS / "status-over-onion.png"))
    finally:
        serve.stop()
    spellings = [s.encode() for s in (receipt, receipt.replace("-", ""), receipt.lower())]
    server_side = [p for p in data.rglob("*") if p.is_file()] + [tmp_path / "serve.log"]
    assert not [(str(p), s) for p in server_side for s in spellings if s in p.read_bytes()]
    assert not [s for s in spellings if s in imported.stdout + imported.stderr]

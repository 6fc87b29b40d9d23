"""What several test areas share: the pages' markers, a staff key that opens sealed reports, and
headless Chromium. The servers and their configuration are in harness.py."""

from __future__ import annotations

import contextlib
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from crypto.age import keys
from crypto.envelope import report
from crypto.envelope.sealing import open_sealed

ROOT = Path(__file__).resolve().parents[1]
# Flags that keep Debian's Chromium off every network but the page it is sent to (it would
# otherwise try Google's update and sync hosts) and runnable as root without a display.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)
HTML_LANG = re.compile(r'<html lang="([a-zA-Z_-]+)" dir="(?:ltr|rtl)">')
TOKEN = re.compile(r'name="token" value="([^"]+)"')
RECEIPT = re.compile(r'<p class="code"[^>]*><strong>([A-Z0-9-]+)</strong></p>')


@dataclass(frozen=True)
class Staff:
    """A staff key pair as a test holds it: the identities and the recipient string."""

    identities: list
    recipient: str

    def open(self, sealed: bytes) -> report.Report:
        return open_sealed(sealed, self.identities)


def new_staff(kind: str = "pq") -> Staff:
    # Post-quantum, as deployed: opening one costs well under a millisecond.
    ident = keys.generate(kind)
    return Staff([ident], ident.recipient().encode())


@contextlib.contextmanager
def chromium(*extra_args: str, height: int, page_load_timeout: float):
    """A selenium driver for Debian's headless Chromium with JavaScript disabled, in a fresh
    profile that is removed afterwards."""
    import pytest
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    if not shutil.which("chromium") or not shutil.which("chromedriver"):
        pytest.fail("Debian's chromium and chromium-driver are needed (make test-deps installs them)")
    profile = tempfile.mkdtemp(prefix="meldpunt-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for arg in (*extra_args, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--window-size=1100,{height}"):
        options.add_argument(arg)
    options.add_experimental_option("prefs", {"profile.managed_default_content_settings.javascript": 2})
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.set_page_load_timeout(page_load_timeout)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def wait_for(driver, selector: str, within: float):
    """The element the next page shows, once the browser has got there: a click on a form's button
    returns before the answer arrives, over Tor by seconds. On time-out, the page it is on instead
    (a refusal, say) is in the failure."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return WebDriverWait(driver, within).until(
            expected_conditions.presence_of_element_located((By.CSS_SELECTOR, selector))
        )
    except TimeoutException:
        raise AssertionError(
            f"no {selector!r} within {within} s on {driver.current_url}:\n"
            f"{driver.find_element(By.TAG_NAME, 'body').text}"
        ) from None

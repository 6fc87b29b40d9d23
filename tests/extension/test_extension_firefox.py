"""The built extension in Debian's firefox-esr (Tor Browser's base): it installs, its pages work,
the context menu and the toolbar button open the form with the addresses filled in, posted, and
Firefox's history (places.sqlite, read after it quit) holds no reported address."""

from __future__ import annotations

import json
import time
import urllib.parse
from pathlib import Path

import pytest

from tests.extension.firefox import FIREFOX, Firefox
from tests.extension.test_extension_browser import ONION_PAGE, outgoing
from tests.extension.traces import files_holding, holds, places

# Firefox starts and quits in each test: about 15 s each on these machines.
pytestmark = [pytest.mark.browser, pytest.mark.slow]

# A click as the browser delivers it, made from the extension's options page: the background's
# entry points (native menus cannot be clicked by automation), with the page's tab as the tab.
CLICK = """browser.tabs.getCurrent().then((tab) => browser.runtime.getBackgroundPage().then((bg) => {
  const clicked = {...tab, url: %(url)s};
  const info = %(info)s;
  return %(kind)s === "action" ? bg.meldpunt.actionClick(clicked) : bg.meldpunt.menuClick(info, clicked);
})).then((decided) => JSON.stringify(decided))"""


@pytest.fixture
def firefox(built, proxy, tmp_path):
    assert Path(FIREFOX).exists(), "firefox-esr is installed by make test-deps"
    addon = json.loads((built.folder / "manifest.json").read_text())["browser_specific_settings"]["gecko"]["id"]
    browser = Firefox(tmp_path / "firefox", addon, proxy.port)
    installed = browser.command("webExtension.install", extensionData={"type": "path", "path": str(built.folder)})
    assert installed == {"extension": addon}
    yield browser
    browser.close()


def test_the_extension_installs_and_its_pages_work(firefox, hotline):
    page = firefox.open_extension_page("options.html")
    assert firefox.evaluate(page, "document.title") == "Options: report to Trial Line"
    assert firefox.evaluate(page, "document.getElementById('onion').placeholder") == f"http://{hotline.onion}"
    assert "session restore" in firefox.evaluate(page, "document.body.innerText")
    title = "browser.runtime.getBackgroundPage().then((bg) => bg.meldpunt.menuTitle())"
    assert firefox.evaluate(page, title) == "Report to Trial Line"


@pytest.mark.parametrize(
    "kind, info, addresses",
    [
        (
            "link",
            {"linkUrl": "https://t.example/a b?c=d&e=é#f", "pageUrl": ONION_PAGE},
            ["https://t.example/a b?c=d&e=é#f"],
        ),
        ("action", {}, [ONION_PAGE]),
    ],
    ids=["menu", "toolbar"],
)
def test_a_click_opens_the_form_prefilled_and_history_keeps_no_address(firefox, proxy, hotline, kind, info, addresses):
    page = firefox.open_extension_page("options.html")
    proxy.seen.clear()
    proxy.bodies.clear()
    click = CLICK % {"url": json.dumps(ONION_PAGE), "info": json.dumps(info), "kind": json.dumps(kind)}
    decided = json.loads(firefox.evaluate(page, click))
    action = f"http://{hotline.onion}/en/prefill"  # Firefox's UI language here is English
    assert decided == {"open": {"action": action, "addresses": addresses}}
    form = firefox.wait_for_context(lambda c: c["url"] == action)
    firefox.wait_for(form, "document.readyState === 'complete' && document.querySelector('textarea[name=urls]')")
    assert firefox.evaluate(form, "document.querySelector('textarea[name=urls]').value") == "\n".join(addresses)
    assert firefox.evaluate(form, "document.documentElement.lang") == "en"
    sent = [
        (m, u)
        for m, u in outgoing(proxy)
        if urllib.parse.urlsplit(u).hostname == hotline.onion or u.startswith(hotline.onion)
    ]
    assert sent[0] == ("POST", action), sent
    posted = [b for u, b in proxy.bodies if u == action]
    assert [urllib.parse.parse_qsl(b.decode()) for b in posted] == [[("url", a) for a in addresses]]
    assert not any(holds(u, a) for a in addresses for _, u in sent)
    # Session restore's file, once it holds the form's tab (written every 200 ms here): as for
    # any form, it keeps what the form's fields hold, the addresses among them, until the tab is
    # closed and gone from the recently closed tabs (README and SECURITY.md say so). No other
    # file of the profile holds them, then or after quitting (below).
    deadline = time.monotonic() + 10
    while "sessionstore-backups/recovery.jsonlz4" not in files_holding(firefox.profile, action):
        assert time.monotonic() < deadline, "session restore never wrote the form's tab"
        time.sleep(0.1)
    for text in addresses:
        assert outside_session_restore(files_holding(firefox.profile, text)) == [], text
    # A page Firefox does keep (it leaves the result of a post out of its history): the reading
    # below must find it, or it would find nothing at all.
    control = f"http://{hotline.onion}/en/"
    firefox.command("browsingContext.navigate", context=form, url=control, wait="complete")
    firefox.close()
    kept = places(firefox.profile)
    assert control in kept, kept
    for text in addresses:
        assert not [u for u in kept if holds(u, text)], (text, kept)
        assert outside_session_restore(files_holding(firefox.profile, text)) == [], text


def outside_session_restore(files: list[str]) -> list[str]:
    return [f for f in files if not (f.startswith("sessionstore") and f.endswith(("lz4", ".baklz4")))]

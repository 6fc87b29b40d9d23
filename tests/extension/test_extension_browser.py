"""The built extension in Debian's Chromium: every kind of click opens exactly the form with the
address filled in, in the right language, nothing else leaves the browser, and the browser keeps
the reported address in no URL (its history database, read after it closed, holds none)."""

from __future__ import annotations

import re
import urllib.parse

import pytest

from tests.extension.traces import files_holding, history, holds

pytestmark = pytest.mark.browser

ONION_PAGE = "http://" + "q" * 56 + ".onion/gallery/7"  # a page on an onion service
WEB_PAGE = "https://pages.example/gallery?id=7"
# Services Chromium itself contacts, whatever the extension does (component updates, sign-in).
BROWSER_OWN = re.compile(r"(?:^|\.)(?:google\.com|googleapis\.com|gvt1\.com|gstatic\.com)$")

CLICK = """async ([kind, info, tabUrl]) => {
  const [tab] = await chrome.tabs.query({active: true, lastFocusedWindow: true});
  // The browser hands the clicked tab's address to the extension (activeTab); here we say it.
  const clicked = {...tab, url: tabUrl};
  return kind === "action" ? meldpunt.actionClick(clicked) : meldpunt.menuClick(info, clicked);
}"""


def encode(text: str) -> str:
    """JavaScript's encodeURIComponent."""
    return urllib.parse.quote(text, safe="!~*'()")


def outgoing(proxy) -> list[tuple[str, str]]:
    """What went out through the proxy, less the browser's own services."""

    def host(method: str, target: str) -> str:
        return target.rsplit(":", 1)[0] if method == "CONNECT" else urllib.parse.urlsplit(target).hostname or ""

    return [(m, t) for m, t in proxy.seen if not BROWSER_OWN.search(host(m, t))]


def click(worker, kind: str, info: dict, tab_url: str) -> dict:
    return worker.evaluate(CLICK, [kind, info, tab_url])


ON_ONION = {"pageUrl": ONION_PAGE}
PNG = "data:image/png;base64,iVBORw0KGgo="
CASES = [
    # (kind, click data, the address reported (or the addresses, in order), the browser's language)
    ("link", {"linkUrl": "https://t.example/a b?c=d&e=é#f", **ON_ONION}, "https://t.example/a b?c=d&e=é#f", "nl"),
    ("page", ON_ONION, ONION_PAGE, "fr"),
    (
        "image",
        {"mediaType": "image", "srcUrl": "http://cdn.example/p.jpg", **ON_ONION},
        ("http://cdn.example/p.jpg", ONION_PAGE),
        "de",
    ),
    ("image-inline", {"mediaType": "image", "srcUrl": PNG, **ON_ONION}, ONION_PAGE, "en"),
    ("video", {"mediaType": "video", "srcUrl": "blob:http://" + "q" * 56 + ".onion/5e1", **ON_ONION}, ONION_PAGE, "nl"),
    (
        "audio",
        {"mediaType": "audio", "srcUrl": "https://cdn.example/a.ogg", **ON_ONION},
        ("https://cdn.example/a.ogg", ONION_PAGE),
        "fr",
    ),
    ("frame", {"frameUrl": "https://frames.example/inner", **ON_ONION}, "https://frames.example/inner", "de"),
    ("selection", {"selectionText": "  hidden.example/path?x=1 ", **ON_ONION}, "hidden.example/path?x=1", "en"),
    ("action", {}, ONION_PAGE, "nl"),
]


@pytest.mark.parametrize("kind, info, address, language", CASES, ids=[c[0] for c in CASES])
def test_each_click_opens_the_form_prefilled(open_browser, proxy, hotline, kind, info, address, language):
    context, worker = open_browser(language)
    assert worker.evaluate("chrome.i18n.getUILanguage()").startswith(language)
    proxy.seen.clear()
    addresses = (address,) if isinstance(address, str) else address
    action = f"http://{hotline.onion}/{language}/prefill"
    with context.expect_page() as opened:
        decided = click(worker, "action" if kind == "action" else "menu", info, info.get("pageUrl", ONION_PAGE))
    # The page being reported is on an onion service: the browser reaches them, so the onion base.
    assert decided == {"open": {"action": action, "addresses": list(addresses)}}
    page = opened.value
    page.wait_for_url(action)
    page.wait_for_load_state("load")
    assert page.locator("html").get_attribute("lang") == language
    assert page.locator("textarea[name=urls]").input_value() == "\n".join(addresses)
    # Only the form's tab went out: the addresses posted in its body, then what the form loads.
    sent = outgoing(proxy)
    assert sent[0] == ("POST", action), sent
    assert all(urllib.parse.urlsplit(u).hostname == hotline.onion for _, u in sent), sent
    assert [m for m, _ in sent].count("POST") == 1 and all(m in ("GET", "POST") for m, _ in sent), sent
    posted = [(u, b) for u, b in proxy.bodies if urllib.parse.urlsplit(u).hostname == hotline.onion]
    assert [u for u, _ in posted] == [action]
    assert urllib.parse.parse_qsl(posted[0][1].decode(), strict_parsing=True) == [("url", a) for a in addresses]
    # The addresses are in no URL the browser went to, and in none its history kept.
    assert not any(holds(u, a) for a in addresses for u in [page.url, *(u for _, u in sent)])
    assert_not_in_history(context, open_browser.profiles[-1], addresses, action)


def assert_not_in_history(context, profile, addresses, action) -> None:
    """Closes the browser (it writes its history out then), reads its history database, and
    searches every file of the profile for the addresses."""
    context.close()
    kept = history(profile)
    assert action in kept, kept  # the reading sees what the browser kept: the form's address
    for text in addresses:
        assert not [u for u in kept if holds(u, text)], (text, kept)
        # The one trace left: session restore keeps the posted body of the tab's page (as it keeps
        # that of every form sent, the report's own included) until the tab and its "recently
        # closed" entry are gone. The options page, README and SECURITY.md say so.
        assert [f for f in files_holding(profile, text) if not f.startswith("Default/Sessions/")] == [], text


def test_after_the_report_is_sent_history_holds_neither_address_nor_answers(open_browser, proxy, hotline):
    # The whole way, as a reporter goes it: the toolbar button, the form, the report sent.
    context, worker = open_browser("en")
    with context.expect_page() as opened:
        decided = click(worker, "action", {}, ONION_PAGE)
    page = opened.value
    page.wait_for_url(decided["open"]["action"])
    page.locator("#found_on-onion").check()
    page.locator("#kinds-images").check()
    description = "seen-in-a-forum-thread-4711"
    page.locator("#description").fill(description)
    page.locator("button[type=submit]").click()
    page.locator(".receipt .code").wait_for()
    assert page.url == f"http://{hotline.onion}/en/"
    profile = open_browser.profiles[-1]
    assert_not_in_history(context, profile, [ONION_PAGE, description], decided["open"]["action"])
    # What the tab's session restore keeps, as README and SECURITY.md say: the bodies it posted,
    # the report's own among them, until the tab and its "recently closed" entry are gone.
    assert {f.split("/")[1] for f in files_holding(profile, description)} == {"Sessions"}


def test_the_public_address_outside_tor_and_the_menu_title(open_browser, proxy, hotline):
    context, worker = open_browser("de")
    assert worker.evaluate("meldpunt.menuTitle()") == "An Prüfstelle melden"
    proxy.seen.clear()
    with context.expect_page() as opened:
        decided = click(worker, "menu", {"linkUrl": "https://t.example/x", "pageUrl": WEB_PAGE}, WEB_PAGE)
    assert decided == {"open": {"action": f"{hotline.https}/de/prefill", "addresses": ["https://t.example/x"]}}
    opened.value.wait_for_event("requestfailed")  # the post, refused by the proxy here
    # The one connection is the tab's, to the hotline's HTTPS host (the proxy refuses it here).
    assert outgoing(proxy) == [("CONNECT", f"{hotline.https.removeprefix('https://')}:443")] * len(outgoing(proxy))
    assert outgoing(proxy)


REFUSED = [
    ("link", {"linkUrl": "data:text/html;base64,PHA+eDwvcD4=", "pageUrl": WEB_PAGE}, "content"),
    ("link", {"linkUrl": "blob:https://pages.example/7c1d", "pageUrl": WEB_PAGE}, "content"),
    ("link", {"linkUrl": "file:///home/someone/photo.jpg", "pageUrl": WEB_PAGE}, "content"),
    ("page", {"pageUrl": "file:///home/someone/page.html"}, "content"),
    ("image", {"mediaType": "image", "srcUrl": PNG, "pageUrl": "blob:https://p.example/1"}, "content"),
    ("frame", {"frameUrl": "chrome-extension://" + "a" * 32 + "/x.html", "pageUrl": WEB_PAGE}, "content"),
    ("link", {"linkUrl": "https://t.example/" + "a" * 2100, "pageUrl": WEB_PAGE}, "too-long"),
    ("selection", {"selectionText": "look at this", "pageUrl": WEB_PAGE}, "no-address"),
    ("link", {"linkUrl": "javascript:alert(1)", "pageUrl": WEB_PAGE}, "not-web"),
]


# The toolbar button's [badge, popup page] for a tab; when a popup was opened, once its page has
# cleared them (the condition is awaited, with the test's own timeout as the bound).
BUTTON_STATE = """async ([tabId, popupOpened]) => {
  const read = () => Promise.all([chrome.action.getBadgeText({tabId}), chrome.action.getPopup({tabId})])
    .then(([badge, popup]) => [badge, popup.split("/").pop()]);
  let state = await read();
  while (popupOpened && (state[0] || state[1])) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    state = await read();
  }
  return state;
}"""


def test_refused_addresses_give_the_message_and_open_nothing(open_browser, proxy):
    context, worker = open_browser("en")
    messages = {
        "content": "this address holds the content itself",
        "too-long": "too long for the form",
        "no-address": "the selection is not an address",
        "not-web": "not a web address",
    }
    tabs_before = worker.evaluate("chrome.tabs.query({}).then(t => t.length)")
    proxy.seen.clear()
    opened = []
    context.on("page", lambda page: opened.append(page))
    for kind, info, reason in REFUSED:
        popups = worker.evaluate("meldpunt.popupsOpened()")
        assert click(worker, kind, info, info["pageUrl"]) == {"refusal": reason}, info
        # The toolbar button's title says it; its popup (refused.html, below) opens with it where
        # the browser lets an extension open it, and a badge marks the button where it does not.
        tab_id = worker.evaluate("chrome.tabs.query({active: true, lastFocusedWindow: true}).then(([t]) => t.id)")
        assert messages[reason] in worker.evaluate("(id) => chrome.action.getTitle({tabId: id})", tab_id)
        state = worker.evaluate(BUTTON_STATE, [tab_id, worker.evaluate("meldpunt.popupsOpened()") > popups])
        # Either the popup opened and then cleared the badge (waited for above: its clearing would
        # otherwise land on the next click's badge), or it could not open and the badge stays.
        assert state in (["", ""], ["!", f"refused.html#{reason}"]), state
    # A click awaits the tab it creates before it returns: none was created.
    assert worker.evaluate("chrome.tabs.query({}).then(t => t.length)") == tabs_before
    assert [p.url for p in opened if not p.url.startswith("chrome-extension://")] == []
    assert outgoing(proxy) == []


def test_the_message_page_says_why(open_browser):
    context, worker = open_browser("fr")
    page = context.new_page()
    base = f"chrome-extension://{worker.url.split('/')[2]}/refused.html"
    for reason, words in [
        ("content", "contient le contenu lui-même"),
        ("too-long", "trop longue"),
        ("no-address", "pas une adresse"),
        ("not-web", "pas une adresse web"),
        ("no-base", "ne connaît pas l'adresse"),
    ]:
        page.goto(f"{base}#{reason}")
        page.reload()  # a new fragment alone does not run the page again
        assert words in page.locator("#message").inner_text(), reason
        assert "Rien n'a été envoyé." in page.locator("body").inner_text()


def test_the_options_page_overrides_base_and_language(open_browser, proxy, hotline, built):
    context, worker = open_browser("nl")
    extension_id = worker.url.split("/")[2]
    page = context.new_page()
    page.goto(f"chrome-extension://{extension_id}/options.html")
    assert "stuurt zelf niets" in page.locator("body").inner_text()  # the privacy statement
    assert "sessieherstel van de browser wel de inhoud" in page.locator("body").inner_text()  # the one trace
    assert page.locator("#onion").get_attribute("placeholder") == f"http://{hotline.onion}"
    page.locator("input[name=base][value=onion]").check()
    page.locator("#language").select_option("en")
    page.locator("#https").fill("http://not-https.example")
    page.locator("button[type=submit]").click()
    assert page.locator("#status").inner_text() == "Dat is geen HTTPS-adres (https://naam.voorbeeld)."
    page.locator("#https").fill("")
    page.locator("button[type=submit]").click()
    page.locator("#status", has_text="Opgeslagen.").wait_for()
    assert worker.evaluate("chrome.storage.local.get(null)") == {
        "base": "onion",
        "language": "en",
        "onion": "",
        "https": "",
    }
    proxy.seen.clear()
    with context.expect_page() as opened:
        decided = click(worker, "menu", {"pageUrl": WEB_PAGE}, WEB_PAGE)
    assert decided == {"open": {"action": f"http://{hotline.onion}/en/prefill", "addresses": [WEB_PAGE]}}
    opened.value.wait_for_url(decided["open"]["action"])
    opened.value.wait_for_load_state("load")
    assert opened.value.locator("textarea[name=urls]").input_value() == WEB_PAGE


def test_the_watch_sees_a_request_from_the_extension(open_browser, proxy):
    # What the tests above rely on: a request the extension's worker made would be on the list.
    _, worker = open_browser("en")
    proxy.seen.clear()
    for url in ("http://probe.example/x", "http://127.0.0.1:8999/x"):
        worker.evaluate("(url) => fetch(url).catch(() => null)", url)
        assert ("GET", url) in outgoing(proxy)

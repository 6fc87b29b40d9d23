"""Languages are data: a language added as files is served with no code change, and every string
a reporter can see is marked for translation.

Both in one temporary copy of the tree with a made-up translation added: Esperanto (a language
babel knows, which meldpunt does not ship) whose every string is the English one between ⟦ and ⟧.
Every page rendered in it must show text only inside those marks, or marked as another language
(the switcher's names, each in itself), or what the hotline configured itself.
"""

from __future__ import annotations

import html.parser
import json
import re
import shutil
import subprocess
import sys

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from onion_service import languages
from tests.onion_service.web.webkit import ROOT

MADE_UP = "eo"
PSEUDO = re.compile(r"⟦[^⟧]*⟧")
# What the test's configuration writes itself (render_pages.py), and values that are data: the
# receipt code in examples, numbers, the reporter's own answers echoed back.
CONFIGURED = ("Hotline-Name", "Contact-Text", "Emergency-Label")
WORD = re.compile(r"[A-Za-z]{3,}")
ATTRIBUTES = ("aria-label", "title", "placeholder", "alt")


class _Text(html.parser.HTMLParser):
    """The text a reader sees or hears, except inside elements marked with a language."""

    VOID = {"meta", "link", "input", "br", "img", "hr"}

    def __init__(self, lang: str) -> None:
        super().__init__()
        self.lang, self.stack, self.parts = lang, [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "html":
            return
        # An element that names its own language is a language's name in itself (the switcher).
        other = bool(a.get("lang"))
        # Answers, addresses, receipt codes and numbers are data (marked dir="ltr" for that reason).
        hidden = tag in ("textarea", "style", "script") or a.get("dir") == "ltr"
        if not self._skipping():
            self.parts += [a[k] for k in ATTRIBUTES if a.get(k)]
        if tag not in self.VOID:
            self.stack.append(other or hidden)

    def handle_endtag(self, tag):
        if tag not in self.VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data):
        if not self._skipping():
            self.parts.append(data)

    def _skipping(self) -> bool:
        return any(self.stack)


def untranslated(page: str, lang: str) -> list[str]:
    parser = _Text(lang)
    parser.feed(page)
    text = PSEUDO.sub(" ", " ".join(parser.parts))
    for value in CONFIGURED:
        text = text.replace(value, " ")
    return WORD.findall(text)


@pytest.fixture(scope="module")
def copy_with_made_up_language(tmp_path_factory):
    """A copy of the packages with the made-up catalogue added: files only, no code changed."""
    root = tmp_path_factory.mktemp("tree")
    for package in ("crypto", "onion_service"):
        shutil.copytree(ROOT / package, root / package, ignore=shutil.ignore_patterns("__pycache__"))
    translations = root / "onion_service" / "web" / "translations"
    with open(translations / "messages.pot", "rb") as fh:
        pot = read_po(fh)
    catalog = Catalog(locale=MADE_UP)
    for message in pot:
        if message.id:
            catalog.add(message.id, f"⟦{message.id}⟧")
    folder = translations / MADE_UP / "LC_MESSAGES"
    folder.mkdir(parents=True)
    with open(folder / "messages.po", "wb") as fh:
        write_po(fh, catalog)
    with open(folder / "messages.mo", "wb") as fh:
        write_mo(fh, catalog)
    return root


def render(root, lang, tmp_path) -> dict:
    out = subprocess.run(
        [sys.executable, str(ROOT / "tests/onion_service/web/render_pages.py"), lang, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout)


def test_a_language_added_as_files_is_served_and_every_string_is_translated(copy_with_made_up_language, tmp_path):
    assert MADE_UP not in languages.installed()  # made up: this tree does not ship it
    rendered = render(copy_with_made_up_language, MADE_UP, tmp_path)
    pages = {path: (status, page) for path, status, page in rendered["pages"]}
    status, form = pages[f"/{MADE_UP}/"]
    assert status == 200 and f'<html lang="{MADE_UP}" dir="ltr">' in form
    assert f'href="/{MADE_UP}/" lang="{MADE_UP}"' in form and ">Esperanto<" in form
    assert "⟦Thank you for your report⟧" in pages["thanks"][1]
    assert pages["thanks"][0] == 200 and pages["errors"][0] == 400 and pages["404"][0] == 404
    for path, (status, page) in pages.items():
        assert not untranslated(page, MADE_UP), f"{path} ({status}) shows {untranslated(page, MADE_UP)[:5]}"
    for text in rendered["status_texts"]:
        assert PSEUDO.fullmatch(text), text


def test_the_check_finds_a_string_not_marked_for_translation(copy_with_made_up_language, tmp_path):
    # A template with one English sentence that no _() wraps: the check above must catch it.
    thanks = copy_with_made_up_language / "onion_service" / "web" / "templates" / "thanks.html"
    original = thanks.read_text()
    thanks.write_text(original.replace("{% block main %}", "{% block main %}<p>Forgotten sentence.</p>", 1))
    try:
        pages = {path: page for path, _status, page in render(copy_with_made_up_language, MADE_UP, tmp_path)["pages"]}
    finally:
        thanks.write_text(original)
    assert untranslated(pages["thanks"], MADE_UP) == ["Forgotten", "sentence"]


def _app(tmp_path, staff, **web):
    from onion_service.config import parse_config
    from onion_service.store import open_store
    from onion_service.web.app import create_app
    from tests.harness import config_dict

    (tmp_path / "data").mkdir()
    raw = config_dict(tmp_path / "data", staff.recipient)
    raw["web"].update(web)
    config = parse_config(raw, base_dir=tmp_path)
    return create_app(config, store=open_store(config.database_url)).test_client()


HOST = {"Host": "127.0.0.1"}


def test_root_follows_accept_language_only_when_the_browser_sends_one(tmp_path, staff):
    client = _app(tmp_path, staff)
    chooser = client.get("/", headers=HOST)
    assert chooser.status_code == 200 and 'class="choose"' in chooser.get_data(as_text=True)
    for header, expected in [
        ("ar-MA,ar;q=0.9,en;q=0.5", "/ar/"),
        ("en-US, en", "/en/"),
        ("xx, fr;q=0.4, de;q=0.8", "/de/"),
        ("es-419", "/es/"),
    ]:
        answer = client.get("/", headers={**HOST, "Accept-Language": header})
        assert (answer.status_code, answer.headers["Location"]) == (303, expected), header
    # Nothing offered matches: the list, as without the header.
    assert client.get("/", headers={**HOST, "Accept-Language": "xx, yy;q=0.5"}).status_code == 200


def test_a_subset_of_languages_in_the_hotlines_order(tmp_path, staff):
    client = _app(tmp_path, staff, languages=["fr", "nl", "ar"])
    page = client.get("/nl/", headers=HOST).get_data(as_text=True)
    assert re.findall(r'<li><a href="/([a-z]+)/" lang=', page) == ["fr", "nl", "ar"]
    assert client.get("/de/", headers=HOST).status_code == 404  # installed, not offered
    assert client.get("/", headers={**HOST, "Accept-Language": "de"}).status_code == 200


def test_arabic_is_right_to_left_with_codes_and_addresses_left_to_right(tmp_path, staff):
    client = _app(tmp_path, staff)
    page = client.get("/ar/?url=http%3A%2F%2Fexample.org%2Fa", headers=HOST).get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in page
    assert re.search(r'<textarea id="urls"[^>]* dir="ltr"', page)
    assert ">العربية<" in page and ">Nederlands<" in page  # each language named in itself
    assert '<html lang="nl" dir="ltr">' in client.get("/nl/", headers=HOST).get_data(as_text=True)
    css = client.get("/static/style.css", headers=HOST).get_data(as_text=True)
    assert not re.search(r"(?<![-\w])(left|right)\s*:|(margin|padding|border)-(left|right)", css)


def test_the_demo_writes_its_own_texts_in_every_installed_language():
    # The demo's footer was once English on every page; a language added without its demo texts
    # would bring that back.
    from devnet import demo_texts

    for texts in (demo_texts.CONTACT, demo_texts.EMERGENCY_LABEL):
        assert set(languages.installed()) <= set(texts)

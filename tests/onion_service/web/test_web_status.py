"""The status page, /<lang>/status: in-process in every language (Flask's test client), and served
by gunicorn with a status file imported through `meldpunt statuses import`; the receipt code in
clear is then nowhere on the server."""

from __future__ import annotations

import datetime
import os
import re

import pytest

from crypto.envelope.receipt import new_receipt
from crypto.status import file as status_file
from crypto.status.keys import SigningKey, key_file_text
from crypto.status.lookup import lookup_key
from onion_service.shared.budget import Budget
from onion_service.shared.state import make_shared
from onion_service.statuses import import_status_file
from onion_service.store import open_store
from onion_service.web.app import create_app
from onion_service.web.security import HEADERS
from tests.clirun import meldpunt
from tests.formkit import form_body, report_fields, token
from tests.harness import Server, files_containing, make_config, write_config
from tests.onion_service.web.phrases import phrases
from tests.onion_service.web.webkit import HTML_LANG, LANGS, RECEIPT, TOKEN, good_fields

ABROAD, DAY_TEXT, FORWARDED, NOT_YET = phrases("abroad", "day_text", "forwarded", "not_yet")

KEY = SigningKey.generate()
DAY = datetime.date(2026, 12, 1)


def status_file_bytes(version: int, statuses: dict[str, tuple[str, str | None]]) -> bytes:
    salt = os.urandom(32)
    entries = tuple(
        status_file.Entry(lookup_key(salt, code), state, message, DAY) for code, (state, message) in statuses.items()
    )
    return status_file.encode(status_file.StatusFile(version, salt, entries), KEY)


def status_token(config, lang: str) -> str:
    return token(config.data_dir, f"status-{lang}")


def main(html: str) -> str:
    return re.search(r"<main.*</main>", html, re.S).group(0)


@pytest.fixture
def status_app(tmp_path, staff):
    config = make_config(tmp_path / "data", staff.recipient, status_public_key=KEY.public().encode())
    (tmp_path / "data").mkdir()
    code = new_receipt()
    with open_store(config.database_url) as store:
        (tmp_path / "s").write_bytes(status_file_bytes(1, {code: ("forwarded", "abroad")}))
        import_status_file(config, store, tmp_path / "s")
        yield config, store, code


def post(client, config, lang, code, **extra):
    fields = {"code": code, "token": status_token(config, lang), "homepage": "", **extra}
    return client.post(f"/{lang}/status", data=form_body(fields), content_type="application/x-www-form-urlencoded")


@pytest.mark.parametrize("lang", LANGS)
def test_the_page_answers_in_each_language(status_app, lang):
    config, store, code = status_app
    client = create_app(config, store=store).test_client()
    page = client.get(f"/{lang}/status")
    assert page.status_code == 200 and HTML_LANG.search(page.text).group(1) == lang
    html = page.text
    assert f'<form method="post" action="/{lang}/status"' in html and '<label for="code">' in html
    assert "<script" not in html and 'name="code"' in html and html.count("<h1>") == 1
    for name, value in HEADERS.items():
        assert page.headers[name] == value

    found = post(client, config, lang, code.lower().replace("-", " "))
    assert found.status_code == 200
    text = main(found.text)
    assert FORWARDED[lang] in text and ABROAD[lang] in text and DAY_TEXT[lang] in text
    assert code not in found.text  # the answer does not repeat the code

    unknown = post(client, config, lang, new_receipt())
    assert unknown.status_code == 200 and NOT_YET[lang] in unknown.text
    assert FORWARDED[lang] not in main(unknown.text)


def test_an_unknown_code_and_an_unlisted_report_look_alike(status_app, tmp_path, staff):
    config, store, code = status_app
    client = create_app(config, store=store).test_client()
    never = post(client, config, "en", new_receipt())
    # A report filed now is in no status file yet.
    form = client.post(
        "/en/", data=form_body(good_fields(config, "en")), content_type="application/x-www-form-urlencoded"
    )
    filed = RECEIPT.search(form.text).group(1)
    unlisted = post(client, config, "en", filed)
    assert (never.status_code, never.data, dict(never.headers)) == (
        unlisted.status_code,
        unlisted.data,
        dict(unlisted.headers),
    )


def test_refusals_keep_the_code_and_look_nothing_up(status_app):
    config, store, code = status_app
    client = create_app(config, store=store).test_client()
    bad = post(client, config, "de", "K7QM-4XPA")
    assert bad.status_code == 400 and "kein Bestätigungscode" in bad.text
    assert 'value="K7QM-4XPA"' in bad.text and 'aria-invalid="true"' in bad.text
    # The report form's token is not this form's, and a missing one is refused.
    wrong = client.post(
        "/en/status",
        data=form_body({"code": code, "token": token(config.data_dir, "en"), "homepage": ""}),
        content_type="application/x-www-form-urlencoded",
    )
    assert wrong.status_code == 400 and FORWARDED["en"] not in wrong.text
    assert post(client, config, "en", code, token="").status_code == 400
    assert post(client, config, "en", code, homepage="http://spam.test/").status_code == 400
    assert post(client, config, "en", code, extra="1").status_code == 400  # unknown field
    # A code in the URL is never looked up.
    via_get = client.get(f"/en/status?code={code}")
    assert via_get.status_code == 200 and FORWARDED["en"] not in via_get.text


def test_lookups_have_their_own_budget(status_app):
    config, store, code = status_app
    reports = Budget(1000)
    shared = make_shared(config, budget=reports, lookup_budget=Budget(1))
    client = create_app(config, store=store, shared=shared).test_client()
    assert post(client, config, "nl", code).status_code == 200
    busy = post(client, config, "nl", code)
    assert busy.status_code == 503 and int(busy.headers["Retry-After"]) >= 1
    assert f'value="{code}"' in busy.text and FORWARDED["nl"] not in busy.text
    assert reports.take() is True  # lookups took nothing from the reports' budget


def test_without_a_status_key_the_page_says_so_and_the_thanks_page_has_no_link(tmp_path, staff):
    config = make_config(tmp_path / "data", staff.recipient)
    (tmp_path / "data").mkdir()
    with open_store(config.database_url) as store:
        client = create_app(config, store=store).test_client()
        page = client.get("/fr/status")
        assert page.status_code == 200 and "n’affiche pas ici le statut" in page.text and "<form" not in page.text
        assert post(client, config, "fr", new_receipt()).status_code == 404
        thanks = client.post(
            "/fr/", data=form_body(good_fields(config, "fr")), content_type="application/x-www-form-urlencoded"
        )
        assert thanks.status_code == 200 and "/fr/status" not in thanks.text


def test_the_thank_you_page_links_to_the_status_page(status_app):
    config, store, _ = status_app
    client = create_app(config, store=store).test_client()
    for lang in LANGS:
        thanks = client.post(
            f"/{lang}/", data=form_body(good_fields(config, lang)), content_type="application/x-www-form-urlencoded"
        )
        assert thanks.status_code == 200 and f'<a href="/{lang}/status">' in thanks.text


@pytest.mark.slow  # several seconds: in make test, not make check
def test_served_import_and_lookup_leave_no_code_on_the_server(tmp_path, staff):
    data = tmp_path / "data"
    config_path = write_config(
        tmp_path / "meldpunt.toml", data, staff.recipient, form_min_seconds=0, status_public_key=KEY.public().encode()
    )
    key_path = tmp_path / "offline" / "status.key"
    key_path.parent.mkdir()
    key_path.write_text(key_file_text(KEY))
    codes = []
    with Server(config_path, tmp_path / "logs") as server:
        for lang in LANGS:
            _, _, page = server.request("GET", f"/{lang}/")
            fields = report_fields(TOKEN.search(page).group(1), urls="http://example.org/status")
            status, _, text = server.post_form(lang, fields)
            assert status == 200 and f'href="/{lang}/status"' in text
            codes.append(RECEIPT.search(text).group(1))
        statuses = {
            codes[0]: ("forwarded", "abroad"),
            codes[1]: ("forwarded", "abroad"),
            codes[2]: ("forwarded", "abroad"),
        }
        (tmp_path / "offline" / "v1").write_bytes(status_file_bytes(1, statuses))
        imported = meldpunt("statuses", "import", "--config", str(config_path), str(tmp_path / "offline" / "v1"))
        assert imported.returncode == 0 and b"version 1 (3 reports)" in imported.stdout, imported.stderr
        good = status_file_bytes(2, {codes[3]: ("closed", None)})
        other = SigningKey.generate()
        for name, content, reason in [
            ("same", status_file_bytes(1, {codes[3]: ("closed", None)}), b"same version"),
            ("cut", good[:-10], b"signature line"),
            ("changed", good.replace(b"closed", b"Closed"), b"changed or damaged"),
            (
                "other",
                status_file_bytes(2, {}).replace(KEY.public().encode().encode(), other.public().encode().encode()),
                b"another key",
            ),
        ]:
            (tmp_path / "offline" / name).write_bytes(content)
            refused = meldpunt("statuses", "import", "--config", str(config_path), str(tmp_path / "offline" / name))
            assert refused.returncode == 1 and refused.stderr.decode().count("\n") == 1, refused.stderr
            assert reason in refused.stderr and not refused.stdout

        for n, lang in enumerate(LANGS):
            _, _, page = server.request("GET", f"/{lang}/status")
            body = form_body({"code": codes[n], "token": TOKEN.search(page).group(1), "homepage": ""})
            status, headers, text = server.request(
                "POST", f"/{lang}/status", body, {"Content-Type": "application/x-www-form-urlencoded"}
            )
            assert status == 200 and headers["content-security-policy"] == HEADERS["Content-Security-Policy"]
            if n < 3:
                assert FORWARDED[lang] in text and ABROAD[lang] in text
            else:
                assert NOT_YET[lang] in text  # filed, but in no status file yet
        outputs = [imported.stdout, imported.stderr, refused.stdout, refused.stderr]
    spellings = [s.encode() for c in codes for s in (c, c.replace("-", ""), c.lower())]
    assert not files_containing([data, tmp_path / "logs"], spellings)
    assert not [s for s in spellings for out in outputs if s in out]


def test_the_status_key_in_the_configuration_is_checked(tmp_path, staff):
    from onion_service.config import ConfigError

    public = KEY.public().encode()
    assert make_config(tmp_path, staff.recipient, status_public_key=public).status.public_key == public
    assert make_config(tmp_path, staff.recipient).status.public_key is None
    typo = public[:-1] + ("q" if public[-1] != "q" else "p")
    for bad in (typo, KEY.encode(), staff.recipient):
        with pytest.raises(ConfigError, match="status.public_key") as refused:
            make_config(tmp_path, staff.recipient, status_public_key=bad)
        assert bad not in str(refused.value)  # the message names the key, never its value


def test_every_state_and_message_has_its_words():
    from crypto.status.states import MESSAGES, STATES
    from onion_service.web.status_texts import MESSAGE_TEXTS, STATE_TEXTS

    assert list(STATE_TEXTS) == list(STATES) and set(MESSAGE_TEXTS) == set(MESSAGES)

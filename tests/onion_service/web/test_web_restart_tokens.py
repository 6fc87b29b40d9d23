"""Spent stays spent across a restart (issue 22). On SQLite the spent tokens lived only in the
server's memory while the token secret persisted, so every token spent before a restart was
accepted once more after it; now the secret is new at every start on SQLite, and on PostgreSQL the
spent tokens are in the database. Either way a replay after a restart gets the form back with the
answers kept, never a second report nor a bare error."""

from __future__ import annotations

import re

import pytest

from onion_service.store import open_store
from tests.formkit import report_fields
from tests.harness import Server, write_config
from tests.kit import RECEIPT, TOKEN

AGAIN = "Please check your answers below and send the report again."


def _fields(tok: str, description: str) -> dict[str, object]:
    return report_fields(tok, description=description, urls="http://example.org/restart")


def _form_token(server: Server) -> str:
    status, _, html = server.request("GET", "/en/")
    assert status == 200
    return TOKEN.search(html).group(1)


def _count(database_url: str) -> int:
    with open_store(database_url) as store:
        return store.count()


@pytest.mark.slow  # two starts and a stop of the server: about 10 s on SQLite, 15 on PostgreSQL
def test_a_token_spent_before_a_restart_is_refused_after_it_with_the_answers_kept(tmp_path, staff, database_url):
    data = tmp_path / "data"
    path = write_config(
        tmp_path / "m.toml",
        data,
        staff.recipient,
        database_url=database_url,
        default_language="en",
        form_min_seconds=0,
        workers=1,
    )
    (tmp_path / "tmp").mkdir()
    server = Server(path, tmp_path / "logs", tmpdir=tmp_path / "tmp")
    url = database_url or f"sqlite:///{data}/reports.sqlite3"
    try:
        server.start()
        spent, unspent = _form_token(server), _form_token(server)
        status, _, html = server.post_form("en", _fields(spent, "before the restart"))
        assert status == 200 and RECEIPT.search(html), re.findall(r"<p>(.*?)</p>", html)[:3]

        server.stop()
        server.start()

        status, _, html = server.post_form("en", _fields(spent, "replayed-after-restart"))
        assert status == 400 and AGAIN in html and "replayed-after-restart" in html, html[-2000:]
        assert "http://example.org/restart" in html and not RECEIPT.search(html)
        fresh = TOKEN.search(html).group(1)
        assert fresh != spent
        assert _count(url) == 1

        # A form served before the restart and never sent: on SQLite its token went with the
        # spent ones (the reporter sends again, answers kept); on PostgreSQL it is still good.
        status, _, html = server.post_form("en", _fields(unspent, "opened-before-restart"))
        if url.startswith("sqlite"):
            assert status == 400 and AGAIN in html and "opened-before-restart" in html
            # The form it came back with is accepted: one more click.
            status, _, html = server.post_form("en", _fields(TOKEN.search(html).group(1), "sent again"))
        assert status == 200 and RECEIPT.search(html)
        assert _count(url) == 2
    finally:
        server.stop()

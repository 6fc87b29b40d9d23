"""Backends behind Onionbalance share one PostgreSQL database and one form-token key, but each
remembers its own spent tokens in memory. A token replayed over a circuit that reaches another
backend must still be refused: on PostgreSQL, a token is spent in the database as well
(onion_service/store/spent.py). On SQLite, one server's store, nothing of a token is stored."""

from __future__ import annotations

import datetime
import re
import shutil

import pytest
import sqlalchemy as sa

from onion_service.store import open_store
from onion_service.store.schema import spent_tokens
from onion_service.store.spent import KEEP_DAYS
from onion_service.web.app import create_app
from tests.harness import make_config
from tests.kit import RECEIPT, TOKEN
from tests.onion_service.web.webkit import good_fields

HOST = {"Host": "127.0.0.1:5000"}
AGAIN = "Please check your answers below"


@pytest.mark.postgres
def test_a_token_accepted_by_one_backend_is_refused_by_the_other_with_the_answers_kept(
    tmp_path, postgres_schema_url, staff
):
    # Two apps on one database, the second with the first's form-token key (as deployed).
    configs = [
        make_config(tmp_path / f"backend{i}", staff.recipient, database_url=postgres_schema_url) for i in range(2)
    ]
    stores = [open_store(postgres_schema_url) for _ in configs]
    try:
        clients = [create_app(configs[0], store=stores[0]).test_client()]
        configs[1].data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        shutil.copy2(configs[0].data_dir / "form-token.key", configs[1].data_dir / "form-token.key")
        clients.append(create_app(configs[1], store=stores[1]).test_client())

        fields = good_fields(configs[0], "en", description="sent-to-backend-0")
        first = clients[0].post("/en/", data=fields, headers=HOST)
        assert first.status_code == 200 and RECEIPT.search(first.get_data(as_text=True)), re.findall(
            r"<p>(.*?)</p>", first.get_data(as_text=True)
        )[:4]
        replay = clients[1].post("/en/", data={**fields, "description": "replayed-to-backend-1"}, headers=HOST)
        html = replay.get_data(as_text=True)
        assert replay.status_code == 400 and AGAIN in html and "replayed-to-backend-1" in html
        assert not RECEIPT.search(html) and TOKEN.search(html).group(1) != fields["token"]
        assert stores[0].count() == 1
        # A fresh token from backend 1 goes through: only the replay was refused.
        fresh = clients[1].post("/en/", data=good_fields(configs[1], "en"), headers=HOST)
        assert fresh.status_code == 200 and stores[0].count() == 2
        # The rows hold a keyed digest and the day: not the token, nor its id.
        with stores[0].engine.connect() as conn:
            rows = conn.execute(sa.select(spent_tokens)).all()
        assert len(rows) == 2 and {r.day for r in rows} == {datetime.date.today()}
        assert all(len(bytes(r.digest)) == 32 and fields["token"].encode() not in bytes(r.digest) for r in rows)
    finally:
        for store in stores:
            store.close()


def _rows(store) -> int:
    with store.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(spent_tokens)).scalar_one()


@pytest.mark.postgres
def test_spend_once_give_back_and_pruned_only_by_the_daily_compaction(postgres_schema_url):
    today = datetime.datetime.now(datetime.UTC).date()
    store = open_store(postgres_schema_url)
    try:
        assert store.shares_spent_tokens
        dead, last_valid, digest = b"\x01" * 32, b"\x03" * 32, b"\x02" * 32
        # Tokens live 72 hours at most: a row of 4 days ago matches none, one of 3 days ago may.
        assert store.spend_token(dead, today - datetime.timedelta(days=KEEP_DAYS))
        assert store.spend_token(last_valid, today - datetime.timedelta(days=KEEP_DAYS - 1))
        assert store.spend_token(digest, today)
        assert not store.spend_token(digest, today)
        store.give_back_token(digest)
        assert store.spend_token(digest, today)
        # A spend deletes nothing (no scan of the table per report) ...
        assert _rows(store) == 3
        # ... the writer's daily compaction prunes.
        store.compact()
        with store.engine.connect() as conn:
            assert sorted(conn.execute(sa.select(spent_tokens.c.digest)).scalars().all()) == [digest, last_valid]
        with pytest.raises(TypeError):
            store.spend_token(digest, datetime.datetime.now())
        with pytest.raises(ValueError):
            store.spend_token(b"short", today)
    finally:
        store.close()


def test_sqlite_stores_nothing_of_a_token(tmp_path, staff):
    config = make_config(tmp_path / "data", staff.recipient)
    config.data_dir.mkdir(mode=0o700)
    store = open_store(config.database_url)
    try:
        assert not store.shares_spent_tokens
        client = create_app(config, store=store).test_client()
        assert client.post("/en/", data=good_fields(config, "en"), headers=HOST).status_code == 200
        assert not sa.inspect(store.engine).has_table("spent_tokens")
    finally:
        store.close()


@pytest.mark.postgres
def test_a_database_down_at_the_spend_refuses_with_the_answers_kept(
    tmp_path, staff, postgres_server, postgres_schema_url
):
    config = make_config(tmp_path / "data", staff.recipient, database_url=postgres_schema_url)
    store = open_store(config.database_url)
    try:
        client = create_app(config, store=store).test_client()
        postgres_server.stop()
        try:
            reply = client.post("/en/", data=good_fields(config, "en", description="kept-when-down"), headers=HOST)
        finally:
            postgres_server.start()
        html = reply.get_data(as_text=True)
        assert reply.status_code == 503 and "kept-when-down" in html and reply.headers["Retry-After"]
        # Sent again once the database is back, with the same token: accepted (it was never spent).
        again = client.post("/en/", data=good_fields(config, "en"), headers=HOST)
        assert again.status_code == 200
    finally:
        store.close()


@pytest.mark.postgres
def test_a_store_failure_after_the_spend_gives_the_token_back(tmp_path, staff, postgres_schema_url, monkeypatch):
    from onion_service.store import StoreUnavailable

    config = make_config(tmp_path / "data", staff.recipient, database_url=postgres_schema_url)
    store = open_store(config.database_url)
    try:
        client = create_app(config, store=store).test_client()
        fields = good_fields(config, "en", description="kept-when-the-insert-fails")

        def unavailable(*args, **kwargs):
            raise StoreUnavailable("the database went away after the spend")

        with monkeypatch.context() as patched:
            patched.setattr(store, "add", unavailable)
            reply = client.post("/en/", data=fields, headers=HOST)
        assert reply.status_code == 503 and "kept-when-the-insert-fails" in reply.get_data(as_text=True)
        assert _rows(store) == 0  # the spend was taken back in the database too
        # So the same form, sent again, is accepted.
        assert client.post("/en/", data=fields, headers=HOST).status_code == 200
        assert store.count() == 1 and _rows(store) == 1
    finally:
        store.close()

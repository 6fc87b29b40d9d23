"""PostgreSQL specifics, against the real server the test setup starts."""

import datetime
import os
import secrets

import pytest

from onion_service.store import StoreConfigError, StoreUnavailable, open_store

pytestmark = pytest.mark.postgres

DAY = datetime.date(2026, 11, 22)


@pytest.fixture
def schema(postgres_server):
    name = "t_" + secrets.token_hex(6)
    postgres_server.isolated_url(name)
    yield name
    if not postgres_server.running:
        postgres_server.start()
    postgres_server.drop_isolated(name)


def socket_url(server, schema: str) -> str:
    # The form a Debian deployment uses: postgresql+psycopg:///meldpunt?host=/run/postgresql
    return server.url(via_socket=True) + f"&options=-csearch_path%3D{schema}"


def test_a_unix_socket_directory_works_as_the_host(postgres_server, schema):
    url = socket_url(postgres_server, schema)
    assert "127.0.0.1" not in url and "host=/" in url
    with open_store(url) as store:
        report_id = store.add(b"sealed", DAY)
        with store.engine.connect() as conn:
            # An empty inet_client_addr() means a unix-socket session.
            assert conn.exec_driver_sql("SELECT inet_client_addr()").scalar_one() is None
    with open_store(postgres_server.url() + f"?options=-csearch_path%3D{schema}") as store:
        assert [r.id for r in store.pending()] == [report_id]


def test_synchronous_commit_is_on_even_where_the_session_default_is_off(postgres_server, schema):
    url = postgres_server.url() + f"?options=-csearch_path%3D{schema}%20-csynchronous_commit%3Doff"
    with open_store(url) as store:
        for _ in range(2):
            store.engine.dispose()
            with store.engine.connect() as conn:
                assert conn.exec_driver_sql("SHOW synchronous_commit").scalar_one() == "on"
                assert conn.exec_driver_sql("SHOW fsync").scalar_one() == "on"


def test_a_server_without_fsync_is_refused(postgres_server, schema):
    url = postgres_server.url() + f"?options=-csearch_path%3D{schema}"
    postgres_server.execute("ALTER SYSTEM SET fsync = off")
    try:
        postgres_server.execute("SELECT pg_reload_conf()")
        with pytest.raises(StoreConfigError, match="fsync"):
            for _ in range(50):  # the reload reaches new sessions within moments
                open_store(url).close()
    finally:
        postgres_server.execute("ALTER SYSTEM RESET fsync")
        postgres_server.execute("SELECT pg_reload_conf()")
    assert postgres_server.execute("SHOW fsync") == [("on",)]


def test_a_stopped_server_is_store_unavailable_and_a_restart_is_picked_up(postgres_server, schema):
    url = postgres_server.url() + f"?options=-csearch_path%3D{schema}"
    with open_store(url) as store:
        kept = store.add(os.urandom(1000), DAY)
        postgres_server.stop("fast")
        with pytest.raises(StoreUnavailable):
            store.add(os.urandom(1000), DAY)
        with pytest.raises(StoreUnavailable):
            store.count()
        with pytest.raises(StoreUnavailable):
            list(store.pending())
        with pytest.raises(StoreUnavailable):
            open_store(url)
        postgres_server.start()
        # The pool's dead connections are noticed and replaced: no report is refused.
        added = store.add(os.urandom(1000), DAY)
        assert {r.id for r in store.pending()} == {kept, added}


def test_check_integrity_uses_amcheck_when_installed(postgres_server, schema):
    url = postgres_server.url() + f"?options=-csearch_path%3D{schema}"
    with open_store(url) as store:
        for _ in range(50):
            store.add(os.urandom(100), DAY)
        statements = []
        from sqlalchemy import event

        event.listen(store.engine, "before_cursor_execute", lambda c, cur, stmt, *a: statements.append(stmt))
        store.check_integrity()
        assert not any("bt_index_check" in s for s in statements)
        postgres_server.execute(f'CREATE EXTENSION amcheck SCHEMA "{schema}"', "meldpunt")
        store.check_integrity()
        assert any("bt_index_check" in s for s in statements)


def _recommended_settings() -> dict[str, str]:
    from tests.pg import DEPLOY_SETTINGS

    settings = {}
    for line in DEPLOY_SETTINGS.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, value = (part.strip() for part in line.split("=", 1))
            settings[key] = value.strip("'")
    return settings


def test_the_server_runs_with_the_settings_deploy_recommends(postgres_server):
    # Every commit record in the WAL has a microsecond time: the recommended settings keep the
    # WAL short-lived and unarchived, and keep statements and connections out of the log.
    wanted = _recommended_settings()
    assert wanted["wal_recycle"] == "off" and wanted["archive_mode"] == "off"
    assert wanted["track_commit_timestamp"] == "off" and wanted["log_statement"] == "none"
    assert wanted["wal_level"] == "minimal" and wanted["log_connections"] == "off"
    for key, value in wanted.items():
        [(shown,)] = postgres_server.execute(f"SHOW {key}")
        assert shown == value, f"{key}: the server has {shown!r}, deploy/ says {value!r}"

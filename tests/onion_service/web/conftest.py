"""Fixtures for the web tests: an in-process app per test, and `meldpunt serve --local-only` once per
module (tests/harness.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from onion_service.config import Config
from onion_service.process.writer import Writer
from onion_service.store import Store, open_store
from onion_service.web.app import create_app
from tests.harness import Server, make_config, write_config
from tests.kit import Staff
from tests.pg import backend_url


@dataclass
class AppEnv:
    config: Config
    store: Store
    app: object
    client: object
    identity: Staff


@pytest.fixture
def app_env(tmp_path, database_url, staff):
    """The app in-process (Flask's test client) on each backend, with its own data directory.

    Reports take the path they take in production: the store sends them to a writer process
    (forked here, as the server's master forks it), which commits and syncs them."""
    config = make_config(tmp_path / "data", staff.recipient, database_url=database_url)
    open_store(config.database_url).close()  # as server.run does: the table exists before the fork
    writer = Writer(config.database_url, answer_timeout=20)
    writer.start()
    store = open_store(config.database_url, writer=writer.client())
    try:
        app = create_app(config, store=store)
        yield AppEnv(config, store, app, app.test_client(), staff)
    finally:
        store.close()
        writer.stop()


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def served(request, tmp_path_factory, staff):
    """gunicorn running the app from a TOML file (as `meldpunt serve` does), on each backend."""
    base = tmp_path_factory.mktemp("served")
    (base / "tmp").mkdir()
    with backend_url(request, "w") as database_url:
        config = make_config(base / "data", staff.recipient, database_url=database_url)
        config_path = write_config(base / "meldpunt.toml", base / "data", staff.recipient, database_url=database_url)
        server = Server(config_path, base / "logs", tmpdir=base / "tmp").start()
        store = open_store(config.database_url)
        try:
            yield Served(server, config, store, staff, base, request.param)
        finally:
            server.stop()
            store.close()


@dataclass
class Served:
    server: Server
    config: Config
    store: Store
    identity: Staff
    base: Path
    backend: str

"""Fixtures shared by several test areas. Each block says which part of the project it serves."""

import pytest

# --- PostgreSQL: a real server, started once per session (tests/pg.py) ---------------------------
from tests.pg import PostgresServer


@pytest.fixture(scope="session")
def _postgres_session():
    server = PostgresServer.create()
    yield server
    server.destroy()


@pytest.fixture
def postgres_server(_postgres_session):
    """The session's PostgreSQL server (a tests.pg.PostgresServer): start(), stop(mode), kill(),
    running, url(), isolated_url(name). A test may stop or kill it; it runs again afterwards."""
    if not _postgres_session.running:
        _postgres_session.start()
    yield _postgres_session
    if not _postgres_session.running:
        _postgres_session.start()


@pytest.fixture(scope="session")
def postgres_url(_postgres_session) -> str:
    """postgresql+psycopg:// URL of the session's `meldpunt` database (shared by every test)."""
    return _postgres_session.url()


@pytest.fixture
def postgres_schema_url(postgres_server) -> str:
    """A URL into a new, empty schema of its own on the session's PostgreSQL (dropped afterwards)."""
    with postgres_server.isolated_schema("t") as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request, tmp_path):
    """An empty database for one test, on each backend in turn: a new SQLite file, or a new
    schema of its own on the session's PostgreSQL server (dropped afterwards)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'reports.sqlite3'}"
        return
    yield request.getfixturevalue("postgres_schema_url")


# --- the staff key every server in a test seals to (tests/kit.py's Staff) -------------------------
@pytest.fixture(scope="session")
def staff():
    """The staff key pair (post-quantum, as deployed) that tests seal to and open with:
    `.recipient` for a configuration, `.open(sealed)` for a stored report."""
    from tests.kit import new_staff

    return new_staff()


# --- Playwright: one driver per session (a second sync_playwright() in the same process fails) ----
@pytest.fixture(scope="session")
def playwright():
    """Playwright's sync API, for tests that drive Debian's Chromium (/usr/lib/chromium/chromium)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p

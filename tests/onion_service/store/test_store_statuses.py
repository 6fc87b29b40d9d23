"""`import_status_file` on each backend: a good file replaces the status table in one transaction;
another key, an older version, a same-version other file, a truncated file or a changed byte is
refused with one line, and the previous statuses still answer."""

from __future__ import annotations

import datetime
import os

import pytest

from crypto.envelope.receipt import new_receipt
from crypto.status import file as status_file
from crypto.status.errors import RollbackError, SignatureError, StatusFileError
from crypto.status.keys import SigningKey
from crypto.status.lookup import lookup_key
from onion_service.config import ConfigError
from onion_service.statuses import import_status_file
from onion_service.store import open_store
from tests.harness import make_config

DAY = datetime.date(2026, 12, 1)
KEY = SigningKey.generate()


def _write(path, version: int, statuses: dict[str, str], *, key: SigningKey = KEY):
    salt = os.urandom(32)
    entries = tuple(status_file.Entry(lookup_key(salt, code), state, None, DAY) for code, state in statuses.items())
    path.write_bytes(status_file.encode(status_file.StatusFile(version, salt, entries), key))
    return path


@pytest.fixture
def env(tmp_path, database_url, staff):
    config = make_config(
        tmp_path / "data", staff.recipient, database_url=database_url, status_public_key=KEY.public().encode()
    )
    with open_store(config.database_url) as store:
        yield config, store, tmp_path


def test_import_replaces_and_refusals_keep_the_previous_statuses(env):
    config, store, tmp = env
    a, b, c = new_receipt(), new_receipt(), new_receipt()
    assert store.status_of(a) is None and store.status_version() is None

    result = import_status_file(config, store, _write(tmp / "v2", 2, {a: "received", b: "in-review"}))
    assert (result.previous, result.version, result.entries, result.unchanged) == (None, 2, 2, False)
    assert store.status_of(a.lower()).state == "received" and store.status_of(b).state == "in-review"
    assert store.status_of(c) is None

    refusals = [
        (_write(tmp / "other", 9, {a: "closed"}, key=SigningKey.generate()), SignatureError, "another key"),
        (_write(tmp / "v1", 1, {a: "closed"}), RollbackError, "older than the one in use"),
        (_write(tmp / "v2b", 2, {a: "closed"}), RollbackError, "same version"),
    ]
    good = _write(tmp / "v3", 3, {a: "closed", c: "removed"}).read_bytes()
    (tmp / "cut").write_bytes(good[: len(good) - 40])
    refusals.append((tmp / "cut", StatusFileError, "signature line"))
    changed = bytearray(good)
    changed[good.index(b"closed")] = ord("C")
    (tmp / "changed").write_bytes(bytes(changed))
    refusals.append((tmp / "changed", SignatureError, "changed or damaged"))
    for path, error, message in refusals:
        with pytest.raises(error, match=message):
            import_status_file(config, store, path)
        assert store.status_version() == 2
        assert store.status_of(a).state == "received" and store.status_of(b).state == "in-review"
        assert store.status_of(c) is None

    (tmp / "v3").write_bytes(good)
    result = import_status_file(config, store, tmp / "v3")
    assert (result.previous, result.version, result.unchanged) == (2, 3, False)
    assert store.status_of(a).state == "closed" and store.status_of(c).state == "removed"
    assert store.status_of(b) is None  # not in the new file: the table is replaced, not merged
    assert import_status_file(config, store, tmp / "v3").unchanged  # the same file again changes nothing


def test_a_server_without_a_status_key_imports_nothing(env, tmp_path, staff):
    config, store, tmp = env
    bare = make_config(tmp_path / "data", staff.recipient, database_url=config.database_url)
    with pytest.raises(ConfigError, match="public_key is not set"):
        import_status_file(bare, store, _write(tmp / "v1", 1, {new_receipt(): "received"}))
    assert store.status_version() is None


def test_the_tables_hold_no_code(env):
    config, store, tmp = env
    codes = [new_receipt() for _ in range(5)]
    import_status_file(config, store, _write(tmp / "v1", 1, dict.fromkeys(codes, "received")))
    import sqlalchemy as sa

    with store.engine.connect() as conn:
        rows = [tuple(r) for t in ("statuses", "status_file") for r in conn.execute(sa.text(f"SELECT * FROM {t}"))]
    dump = repr(rows).encode()
    for code in codes:
        assert code.encode() not in dump and code.replace("-", "").encode() not in dump
    assert len(rows) == 6

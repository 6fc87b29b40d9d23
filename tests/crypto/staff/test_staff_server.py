"""The server side of the workflow: `meldpunt export` and `meldpunt purge`, on both backends."""

from __future__ import annotations

import datetime
import hashlib
import os
import secrets

import pytest
from click.testing import CliRunner

from crypto.envelope.purge_secret import purge_hash
from crypto.staff.ack import format_ack
from crypto.staff.bundle import read_index
from meldpunt.cli import main
from onion_service.export import ExportError, export_bundle
from onion_service.purge import purge_acknowledged
from onion_service.store import open_store
from tests.crypto.staff.staffkit import make_report, new_identity, seal

DAY = datetime.date(2026, 11, 20)


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture
def store(database_url):
    s = open_store(database_url)
    yield s
    s.close()


SECRETS: dict[str, str] = {}  # hex id -> the purge secret sealed in that report, as `open` finds it


def _fill(store, recipients, n):
    # As the web server stores a report: with the hash of the purge secret sealed inside it.
    ids = {}
    for i in range(n):
        report = make_report(i)
        report_id = store.add(seal(report, recipients), DAY, purge_hash(report.purge_secret))
        SECRETS[report_id.hex()] = report.purge_secret
        ids[report_id] = i
    return ids


def _ack_for(bundle_path, tmp_path, only=None):
    entries = [e for e in read_index(bundle_path) if only is None or e.id in only]
    path = tmp_path / f"ack-{secrets.token_hex(4)}"
    path.write_bytes(format_ack((e.id, e.sha256, SECRETS[e.id]) for e in entries))
    return path


def test_export_deletes_nothing_and_reexport_includes_unacknowledged(tmp_path, store):
    identity, _ = new_identity(tmp_path)
    ids = _fill(store, [identity.recipient()], 5)
    first = export_bundle(store, str(tmp_path / "one.tar"))
    assert (first.reports, first.previously_exported) == (5, 0)
    assert store.count() == 5 and store.count(exported=True) == 5
    entries = read_index(tmp_path / "one.tar")
    assert {e.id for e in entries} == {i.hex() for i in ids}
    stored = {r.id.hex(): r for r in store.pending()}
    assert all(e.sha256 == hashlib.sha256(stored[e.id].sealed).hexdigest() and e.day == "2026-11-20" for e in entries)
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]

    # Acknowledge two, add one: the next export holds the three others and the new one.
    acked = sorted(e.id for e in entries)[:2]
    result = purge_acknowledged(store, str(_ack_for(tmp_path / "one.tar", tmp_path, set(acked))))
    assert (result.acknowledged, result.deleted, result.remaining) == (2, 2, 3)
    late = store.add(seal(make_report(99), [identity.recipient()]), DAY)
    second = export_bundle(store, str(tmp_path / "two.tar"))
    assert (second.reports, second.previously_exported) == (4, 3)
    assert {e.id for e in read_index(tmp_path / "two.tar")} == ({i.hex() for i in ids} - set(acked)) | {late.hex()}


def test_export_refuses_an_existing_file_and_leaves_it(tmp_path, store):
    (tmp_path / "b.tar").write_bytes(b"keep")
    with pytest.raises(ExportError, match="already exists"):
        export_bundle(store, str(tmp_path / "b.tar"))
    assert (tmp_path / "b.tar").read_bytes() == b"keep"
    with pytest.raises(ExportError, match="not a directory"):
        export_bundle(store, str(tmp_path / "missing" / "b.tar"))


def test_purge_deletes_exact_matches_only(tmp_path, store):
    identity, _ = new_identity(tmp_path)
    ids = list(_fill(store, [identity.recipient()], 3))
    export_bundle(store, str(tmp_path / "b.tar"))
    entries = {e.id: e for e in read_index(tmp_path / "b.tar")}
    a, b, c = (i.hex() for i in ids)
    ack = tmp_path / "ack"
    # a: right hash; b: wrong hash; an id the server never had.
    ack.write_bytes(
        format_ack(
            [
                (a, entries[a].sha256, SECRETS[a]),
                (b, "00" * 32, SECRETS[b]),
                (secrets.token_hex(16), "11" * 32, "22" * 32),
            ]
        )
    )
    result = purge_acknowledged(store, str(ack))
    assert (result.acknowledged, result.deleted, result.remaining) == (3, 1, 2)
    assert {r.id.hex() for r in store.pending()} == {b, c}


def test_a_forged_ack_from_the_bundle_alone_deletes_nothing(tmp_path, store):
    # Whoever holds a bundle but no staff key knows every id and hash, not the secrets inside.
    identity, _ = new_identity(tmp_path)
    _fill(store, [identity.recipient()], 4)
    export_bundle(store, str(tmp_path / "b.tar"))
    entries = read_index(tmp_path / "b.tar")
    for forged_secret in (lambda e: secrets.token_hex(32), lambda e: e.sha256, lambda e: ""):
        forged = tmp_path / "forged"
        forged.write_bytes(format_ack((e.id, e.sha256, forged_secret(e)) for e in entries))
        result = purge_acknowledged(store, str(forged))
        assert (result.acknowledged, result.deleted, result.remaining) == (4, 0, 4)
    # The secrets, which only decryption gives, delete them all.
    assert purge_acknowledged(store, str(_ack_for(tmp_path / "b.tar", tmp_path))).deleted == 4


def test_a_report_stored_before_purge_secrets_is_purged_on_its_hash(tmp_path, store):
    identity, _ = new_identity(tmp_path)
    legacy = store.add(seal(make_report(1), [identity.recipient()]), DAY)  # no purge hash
    export_bundle(store, str(tmp_path / "b.tar"))
    [entry] = read_index(tmp_path / "b.tar")
    (tmp_path / "ack").write_bytes(format_ack([(legacy.hex(), entry.sha256, "")]))
    assert purge_acknowledged(store, str(tmp_path / "ack")).deleted == 1


def test_purge_refuses_a_malformed_ack_and_deletes_nothing(tmp_path, store):
    identity, _ = new_identity(tmp_path)
    _fill(store, [identity.recipient()], 3)
    export_bundle(store, str(tmp_path / "b.tar"))
    good = _ack_for(tmp_path / "b.tar", tmp_path).read_bytes()
    for damaged in (good[:-20], good.replace(b"meldpunt-ack 2", b"meldpunt-ack 9"), b"", good + b"x\n"):
        (tmp_path / "bad").write_bytes(damaged)
        config = _config(tmp_path, store_url(store), [identity.recipient().encode()])
        result = run("purge", "--config", config, "--ack", tmp_path / "bad")
        assert result.exit_code == 1 and result.stderr.startswith("meldpunt: ")
        assert len(result.stderr.strip().splitlines()) == 1
        assert store.count() == 3


def store_url(store) -> str:
    return store.engine.url.render_as_string(hide_password=False)


def _config(tmp_path, database_url, recipients, **limits) -> str:
    lim = {"reports_per_minute": 10_000, "form_min_seconds": 0, **limits}
    path = tmp_path / "meldpunt.toml"
    quoted = ", ".join(f'"{r}"' for r in recipients)
    path.write_text(
        f"recipients = [{quoted}]\n"
        f'data_dir = "{tmp_path / "data"}"\n'
        f'database_url = "{database_url}"\n'
        '[hotline]\nname = "Test hotline"\n'
        "[limits]\n" + "".join(f"{k} = {v}\n" for k, v in lim.items())
    )
    return str(path)


def test_export_and_purge_commands(tmp_path, store):
    identity, key = new_identity(tmp_path)
    _fill(store, [identity.recipient()], 4)
    config = _config(tmp_path, store_url(store), [identity.recipient().encode()])
    result = run("export", "--config", config, "--out", tmp_path / "b.tar")
    assert result.exit_code == 0, result.output
    assert "Exported 4 sealed reports" in result.stdout and "Nothing was deleted" in result.stdout
    again = run("export", "--config", config, "--out", tmp_path / "b.tar")
    assert again.exit_code == 1 and again.stderr.startswith("meldpunt: ") and "already exists" in again.stderr

    opened = run("open", tmp_path / "b.tar", "-i", key, "--out", tmp_path / "out")
    assert opened.exit_code == 0, opened.output
    result = run("purge", "--config", config, "--ack", tmp_path / "out" / "ack")
    assert result.exit_code == 0, result.output
    assert "Deleted 4 of the 4 acknowledged reports." in result.stdout and "0 reports remain" in result.stdout
    assert store.count() == 0
    result = run("purge", "--config", config, "--ack", tmp_path / "out" / "ack")
    assert "Deleted 0 of the 4" in result.stdout and "4 were not on the server" in result.stdout


def test_a_failed_export_leaves_no_file_and_flags_nothing(tmp_path, store, monkeypatch):
    import errno

    from onion_service import export as export_module

    identity, _ = new_identity(tmp_path)
    _fill(store, [identity.recipient()], 3)

    def full_disk(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(export_module.os, "fsync", full_disk)
    with pytest.raises(ExportError, match="No space left on device"):
        export_bundle(store, str(tmp_path / "b.tar"))
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".meldpunt-export-") or p.name == "b.tar"]
    assert store.count(exported=True) == 0 and store.count() == 3

"""The bundle reader against hostile and damaged bundles, and the writer's output."""

from __future__ import annotations

import datetime
import hashlib
import io
import os
import secrets
import tarfile

import pytest
from click.testing import CliRunner

from crypto.staff import bundle
from crypto.staff.bundle import BundleError, BundleWriter, read_index
from meldpunt.cli import main
from tests.crypto.staff.staffkit import end, manifest_bytes, member, new_identity, tar_header, tree, write_bundle

DAY = datetime.date(2026, 11, 20)


def _good_parts(n=2):
    """[(hex id, sealed)] and a manifest entry list for them."""
    items = [(secrets.token_hex(16), secrets.token_bytes(300 + i)) for i in range(n)]
    entries = [{"id": i, "sha256": hashlib.sha256(s).hexdigest(), "day": "2026-11-20"} for i, s in items]
    return items, entries


def _bundle(items, entries, *, extra=b"", tail=None) -> bytes:
    body = b"".join(member(f"reports/{i}.age".encode(), s) for i, s in items)
    return body + extra + member(b"manifest.json", manifest_bytes(entries)) + (end() if tail is None else tail)


def test_writer_output_is_plain_ustar_with_nothing_identifying(tmp_path):
    path = tmp_path / "b.tar"
    ids = [secrets.token_bytes(16) for _ in range(3)]
    written = write_bundle(path, [(rid, secrets.token_bytes(1000), DAY) for rid in ids])
    with tarfile.open(path) as tf:
        members = tf.getmembers()
    assert [m.name for m in members] == [f"reports/{rid.hex()}.age" for rid in ids] + ["manifest.json"]
    for m in members:
        assert m.isreg() and m.mtime == 0 and m.uid == m.gid == 0 and m.uname == m.gname == ""
        assert m.mode == 0o600
    entries = read_index(path)
    assert [(e.id, e.sha256, e.day) for e in entries] == [(i, h, "2026-11-20") for i, h in written]
    data = path.read_bytes()
    for e in entries:
        assert hashlib.sha256(data[e.offset : e.offset + e.size]).hexdigest() == e.sha256


def test_writer_refuses_duplicate_ids():
    w = BundleWriter(io.BytesIO())
    rid = secrets.token_bytes(16)
    w.add(rid, b"x", DAY)
    with pytest.raises(BundleError):
        w.add(rid, b"y", DAY)


def test_empty_bundle_is_valid(tmp_path):
    path = tmp_path / "b.tar"
    write_bundle(path, [])
    assert read_index(path) == []


def _hostile_bundles() -> dict[str, tuple[bytes, str]]:
    """name -> (bundle bytes, a phrase the error must contain)."""
    items, entries = _good_parts()
    good = _bundle(items, entries)
    rid, sealed = items[0]
    cases: dict[str, tuple[bytes, str]] = {
        "dotdot": (_bundle(items, entries, extra=member(b"../evil.age", b"x")), "not a name"),
        "dotdot-inside": (
            _bundle(items, entries, extra=member(f"reports/../../{rid}.age".encode(), b"x")),
            "not a name",
        ),
        "absolute": (_bundle(items, entries, extra=member(b"/tmp/evil", b"x")), "not a name"),
        "symlink": (
            _bundle(
                items, entries, extra=member(b"reports/" + b"a" * 32 + b".age", b"", kind=b"2", linkname=b"/etc/passwd")
            ),
            "symbolic link",
        ),
        "hardlink": (
            _bundle(
                items,
                entries,
                extra=member(b"reports/" + b"b" * 32 + b".age", b"", kind=b"1", linkname=b"manifest.json"),
            ),
            "hard link",
        ),
        "char-device": (
            _bundle(items, entries, extra=member(b"reports/" + b"c" * 32 + b".age", b"", kind=b"3")),
            "character device",
        ),
        "block-device": (_bundle(items, entries, extra=member(b"dev", b"", kind=b"4")), "block device"),
        "fifo": (_bundle(items, entries, extra=member(b"fifo", b"", kind=b"6")), "FIFO"),
        "directory": (_bundle(items, entries, extra=member(b"reports/", b"", kind=b"5")), "directory"),
        "pax-header": (_bundle(items, entries, extra=member(b"pax", b"30 path=../../etc/passwd\n", kind=b"x")), "pax"),
        "gnu-longname": (
            _bundle(items, entries, extra=member(b"././@LongLink", b"../x\0", kind=b"L")),
            "GNU long name",
        ),
        "gnu-magic": (member(f"reports/{rid}.age".encode(), sealed, magic=b"ustar  \0") + end(), "not POSIX ustar"),
        "name-prefix": (_bundle(items, entries, extra=member(b"x.age", b"x", prefix=b"/etc")), "prefix"),
        "non-ascii-name": (_bundle(items, entries, extra=member("reports/é.age".encode(), b"x")), "not an ASCII name"),
        "bytes-after-name": (_bundle(items, entries, extra=member(b"manifest.json\0../x", b"{}")), "after the name"),
        "link-name-on-file": (
            _bundle(items, entries, extra=member(b"reports/" + b"d" * 32 + b".age", b"x", linkname=b"/etc/shadow")),
            "link name",
        ),
        "bad-checksum": (good[:148] + b"0000000\0" + good[156:], "checksum"),
        "empty-file": (b"", "truncated"),
        "truncated-in-header": (good[:700], "truncated"),
        "truncated-in-data": (good[: 512 + 100], "truncated"),
        "truncated-before-manifest": (good[: 512 + 1024], "truncated"),
        "truncated-end-marker": (good[:-1024], "truncated"),
        "non-zero-padding": (
            member(f"reports/{rid}.age".encode(), sealed)[:-1]
            + b"x"
            + member(b"manifest.json", manifest_bytes(entries[:1]))
            + end(),
            "padding",
        ),
        "data-after-end": (good + b"\0" * 512 + b"x" + b"\0" * 511, "after its end"),
        "no-manifest": (b"".join(member(f"reports/{i}.age".encode(), s) for i, s in items) + end(), "no manifest"),
        "two-manifests": (
            _bundle(items, entries, extra=member(b"manifest.json", manifest_bytes(entries))),
            "two manifests",
        ),
        "duplicate-member": (
            _bundle(items, entries, extra=member(f"reports/{rid}.age".encode(), sealed)),
            "twice (duplicate id)",
        ),
        "duplicate-in-manifest": (_bundle(items, entries + [entries[0]]), "twice (duplicate id)"),
        "file-not-in-manifest": (_bundle(items, entries[:1]), "not in the manifest"),
        "listed-without-file": (_bundle(items[:1], entries), "have no file"),
        "oversized-manifest": (
            tar_header(b"manifest.json", bundle.MAX_MANIFEST_BYTES + 1) + b"\0" * 512,
            "manifest is",
        ),
        "oversized-report": (
            tar_header(f"reports/{rid}.age".encode(), bundle.MAX_SEALED_BYTES + 1) + b"\0" * 512,
            "a sealed report may have",
        ),
        "manifest-not-json": (
            _bundle(items, []).replace(manifest_bytes([]), b"{not json".ljust(len(manifest_bytes([])))),
            "not valid JSON",
        ),
        "manifest-wrong-version": (_bundle(items, entries).replace(b'"version": 1', b'"version": 2'), "version 1"),
        "manifest-extra-key": (
            member(b"manifest.json", b'{"bundle":"meldpunt","version":1,"reports":[],"exported_at":"12:00"}') + end(),
            "top-level keys",
        ),
        "manifest-duplicate-key": (
            member(b"manifest.json", b'{"bundle":"meldpunt","version":1,"reports":[],"reports":[]}') + end(),
            "repeats a key",
        ),
        "manifest-deep-nesting": (member(b"manifest.json", b"[" * 100000 + b"]" * 100000) + end(), "not valid JSON"),
        "manifest-bad-day": (_bundle(items, [{**entries[0], "day": "2026-02-30"}, entries[1]]), "not a date"),
        "manifest-time-in-day": (_bundle(items, [{**entries[0], "day": "2026-11-20T10:00"}, entries[1]]), "YYYY-MM-DD"),
        "manifest-upper-hex": (
            _bundle(items, [{**entries[0], "id": entries[0]["id"].upper()}, entries[1]]),
            "32 lowercase hex",
        ),
        "manifest-bad-hash": (_bundle(items, [{**entries[0], "sha256": "00"}, entries[1]]), "64 hex"),
    }
    return cases


HOSTILE = _hostile_bundles()


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_bundle_is_refused_with_a_clear_error(tmp_path, name):
    data, phrase = HOSTILE[name]
    path = tmp_path / "bundle.tar"
    path.write_bytes(data)
    with pytest.raises(BundleError) as info:
        read_index(path)
    assert phrase in str(info.value)


def test_oversized_report_header_is_refused_before_reading(tmp_path):
    rid = secrets.token_hex(16)
    data = tar_header(f"reports/{rid}.age".encode(), bundle.MAX_SEALED_BYTES + 1)
    data += b"\0" * (bundle.MAX_SEALED_BYTES + 1 + 511 - (bundle.MAX_SEALED_BYTES % 512)) + end()
    path = tmp_path / "bundle.tar"
    path.write_bytes(data)
    with pytest.raises(BundleError, match="more than the 1048576 a sealed report may have"):
        read_index(path)


def test_too_many_reports_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(bundle, "MAX_REPORTS", 3)
    items, entries = _good_parts(4)
    path = tmp_path / "bundle.tar"
    path.write_bytes(_bundle(items, entries))
    with pytest.raises(BundleError, match="more than 3 reports"):
        read_index(path)


def test_a_bundle_that_is_not_a_regular_file_is_refused(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(BundleError, match="regular file"):
        # O_NONBLOCK is not used by the reader: open a FIFO with a writer present so it does not block.
        fd = os.open(fifo, os.O_RDWR)
        try:
            read_index(fifo)
        finally:
            os.close(fd)


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_open_refuses_hostile_bundle_and_writes_nothing(tmp_path, name):
    data, phrase = HOSTILE[name]
    work = tmp_path / "work"
    work.mkdir()
    (work / "bundle.tar").write_bytes(data)
    _, key = new_identity(work)
    before = tree(tmp_path)
    result = CliRunner().invoke(main, ["open", str(work / "bundle.tar"), "-i", str(key), "--out", str(work / "out")])
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("meldpunt: ") and phrase in lines[0]
    assert tree(tmp_path) == before  # not even DIR was created

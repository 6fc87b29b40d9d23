"""Helpers for the staff-workflow tests: reports, sealing, bundles and raw tar members."""

from __future__ import annotations

import datetime
import io
import json
import os
import secrets
from pathlib import Path

from click.testing import CliRunner

from crypto.age import keys
from crypto.envelope import report as report_schema
from crypto.envelope.receipt import new_receipt
from crypto.envelope.sealing import seal
from crypto.staff.bundle import BundleWriter
from meldpunt.cli import main


def canary(i: int) -> str:
    return f"canary-{i:06d}-{secrets.token_hex(4)}"


def make_report(i: int = 0, **overrides) -> report_schema.Report:
    fields = dict(
        urls=(f"http://{canary(i)}.onion/gallery?id={i}", f"https://example.test/{i}"),
        found_on="onion",
        kinds=("images",),
        access="open",
        seen_on="2026-11-01",
        description=f"description {canary(i)}\nsecond line",
        child_in_danger=(i % 7 == 0),
        contact="",
        language="nl",
        receipt=new_receipt(),
        received_on="2026-11-20",
    )
    fields.update(overrides)
    return report_schema.Report(**fields)


# A report with nothing but its address and description: no access, day seen or contact answer.
_PLAIN = dict(found_on="website", kinds=("images",), access="", seen_on="", child_in_danger=False, language="en")


def plain_report(url: str, description: str, **overrides) -> report_schema.Report:
    return make_report(urls=(url,), description=description, **{**_PLAIN, "contact": "", **overrides})


def new_identity(tmp_path: Path, name: str = "staff", kind: str = "pq"):
    identity = keys.generate(kind)
    path = tmp_path / f"{name}.key"
    path.write_text(keys.identity_file_text(identity))
    return identity, path


def write_bundle(path: Path, items) -> list[tuple[str, str]]:
    """items: (id bytes, sealed, day) -> writes the bundle; returns (hex id, hex sha256)."""
    buf = io.BytesIO()
    writer = BundleWriter(buf)
    out = [(rid.hex(), writer.add(rid, sealed, day)) for rid, sealed, day in items]
    writer.finish()
    path.write_bytes(buf.getvalue())
    return out


def sealed_bundle(path: Path, reports, recipients, day=datetime.date(2026, 11, 20)):
    """Seals the reports into a bundle at path; returns [(hex id, report)]."""
    items, out = [], []
    for r in reports:
        rid = secrets.token_bytes(16)
        items.append((rid, seal(r, recipients), day))
        out.append((rid.hex(), r))
    write_bundle(path, items)
    return out


# -- raw tar pieces for hostile bundles -------------------------------------------------------


def tar_header(
    name: bytes,
    size: int,
    *,
    kind: bytes = b"0",
    linkname: bytes = b"",
    magic: bytes = b"ustar\x0000",
    prefix: bytes = b"",
) -> bytes:
    h = bytearray(512)
    h[0 : len(name)] = name
    h[100:108] = b"0000600\0"
    h[108:116] = b"0000000\0"
    h[116:124] = b"0000000\0"
    h[124:136] = b"%011o\0" % size
    h[136:148] = b"%011o\0" % 0
    h[148:156] = b" " * 8
    h[156:157] = kind
    h[157 : 157 + len(linkname)] = linkname
    h[257:265] = magic
    h[345 : 345 + len(prefix)] = prefix
    h[148:156] = b"%06o\0 " % sum(h)
    return bytes(h)


def member(name: bytes, data: bytes, **kw) -> bytes:
    return tar_header(name, len(data), **kw) + data + b"\0" * (-len(data) % 512)


def manifest_bytes(entries) -> bytes:
    return json.dumps({"bundle": "meldpunt", "version": 1, "reports": entries}).encode()


def end() -> bytes:
    return b"\0" * 1024


def tree(root: Path) -> dict[str, bytes | str]:
    """Every path under root with its content (files) or kind: to see what a command wrote."""
    out: dict[str, bytes | str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            rel = str(p.relative_to(root))
            if p.is_symlink():
                out[rel] = "link:" + os.readlink(p)
            elif p.is_dir():
                out[rel] = "dir"
            else:
                out[rel] = p.read_bytes()
    return out


def run(*args: str):
    """`meldpunt ARGS...` in this process."""
    return CliRunner().invoke(main, [str(a) for a in args])

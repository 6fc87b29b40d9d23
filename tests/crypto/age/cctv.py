"""Reading the C2SP CCTV age test kit from the pinned npm package `cctv-age`."""

from __future__ import annotations

import shutil
import subprocess
import zlib
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
INTEROP = ROOT / "tests" / "interop"
PACKAGE = INTEROP / "node_modules" / "cctv-age"


@dataclass
class Vector:
    name: str
    expect: str
    payload_sha256: str | None = None
    file_key: str | None = None
    identities: list[str] = field(default_factory=list)
    passphrases: list[str] = field(default_factory=list)
    armored: bool = False
    comment: str = ""
    data: bytes = b""


def parse_vector(name: str, raw: bytes) -> Vector:
    head, sep, body = raw.partition(b"\n\n")
    assert sep, f"{name}: no blank line after the vector's header"
    vector = Vector(name=name, expect="")
    compressed = False
    for line in head.decode("utf-8").split("\n"):
        key, _, value = line.partition(": ")
        if key == "expect":
            vector.expect = value
        elif key == "payload":
            vector.payload_sha256 = value
        elif key == "file key":
            vector.file_key = value
        elif key == "identity":
            vector.identities.append(value)
        elif key == "passphrase":
            vector.passphrases.append(value)
        elif key == "armored":
            vector.armored = value == "yes"
        elif key == "comment":
            vector.comment = value
        elif key == "compressed":
            assert value == "zlib", f"{name}: unknown compression {value}"
            compressed = True
        else:
            raise AssertionError(f"{name}: unknown vector key {key!r}; update the test")
    vector.data = zlib.decompress(body) if compressed else body
    return vector


def load_vectors(tmp: Path) -> list[Vector]:
    """Dumps the package's vectors with node (the package is an ES module) and parses them."""
    node = shutil.which("node")
    assert node, "node is missing: run `make test-deps`"
    assert PACKAGE.is_dir(), "cctv-age is missing: run `make npm-deps`"
    out = tmp / "cctv"
    result = subprocess.run(
        [node, str(INTEROP / "dump-vectors.mjs"), str(out)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    count = int(result.stdout.strip())
    vectors = [parse_vector(p.name, p.read_bytes()) for p in sorted(out.iterdir())]
    assert len(vectors) == count
    return vectors

"""Every vector of the C2SP CCTV age test kit (npm `cctv-age`, pinned in tests/interop)."""

from __future__ import annotations

import hashlib

import pytest

from crypto import age
from crypto.age import errors, keys
from crypto.age.scrypt import ScryptIdentity
from tests.crypto.age.cctv import Vector, load_vectors

EXPECTED_ERROR = {
    "header failure": errors.HeaderError,
    "HMAC failure": errors.HeaderMACError,
    "payload failure": errors.PayloadError,
    "no match": errors.NoIdentityMatchError,
    "armor failure": errors.ArmorError,
}
KNOWN_EXPECTATIONS = {"success", *EXPECTED_ERROR}


@pytest.fixture(scope="module")
def vectors(tmp_path_factory) -> list[Vector]:
    return load_vectors(tmp_path_factory.mktemp("cctv"))


def identities(vector: Vector) -> list:
    return [keys.parse_identity(i) for i in vector.identities] + [ScryptIdentity(p) for p in vector.passphrases]


def test_the_kit_is_complete(vectors):
    # The pinned 0.2.0 kit has 143 vectors; a package that lost some must not pass quietly.
    assert len(vectors) >= 143
    assert {v.expect for v in vectors} == KNOWN_EXPECTATIONS
    names = {v.name for v in vectors}
    for must in ("hybrid", "x25519", "scrypt", "armor_hybrid", "stream_three_chunks"):
        assert must in names


def pytest_generate_tests(metafunc):
    if "vector" in metafunc.fixturenames:
        import tempfile
        from pathlib import Path

        with tempfile.TemporaryDirectory() as tmp:
            found = load_vectors(Path(tmp))
        metafunc.parametrize("vector", found, ids=[v.name for v in found])


def test_vector(vector: Vector) -> None:
    released = []
    outcome: object = "success"
    try:
        for chunk in age.decrypt_chunks(vector.data, identities(vector)):
            released.append(chunk)
    except errors.AgeError as exc:
        outcome = exc
    if vector.expect == "success":
        assert outcome == "success", f"{vector.name}: {outcome!r} ({vector.comment})"
        # The whole-file API agrees with the streaming one.
        assert age.decrypt(vector.data, identities(vector)) == b"".join(released)
    else:
        cls = EXPECTED_ERROR[vector.expect]
        assert isinstance(outcome, cls), f"{vector.name}: expected {cls.__name__}, got {outcome!r}"
        # The public API raises the same class and so releases nothing at all.
        with pytest.raises(cls):
            age.decrypt(vector.data, identities(vector))
    if vector.payload_sha256 is not None:
        # Authenticated chunks seen before a payload failure must be exactly the expected ones.
        assert hashlib.sha256(b"".join(released)).hexdigest() == vector.payload_sha256

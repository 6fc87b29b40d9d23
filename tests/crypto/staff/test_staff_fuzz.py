"""Random damage to bundles and acknowledgements: every outcome is a typed error or a clean result."""

from __future__ import annotations

import datetime
import secrets
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crypto.errors import Error
from crypto.staff.ack import AckError, format_ack, parse_ack
from crypto.staff.bundle import BundleError, read_index
from crypto.staff.opening import open_bundle
from tests.crypto.staff.staffkit import make_report, new_identity, seal, write_bundle

_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _valid_bundle(tmp_path: Path):
    identity, _ = new_identity(tmp_path)
    items = [
        (secrets.token_bytes(16), seal(make_report(i), [identity.recipient()]), datetime.date(2026, 11, 20))
        for i in range(3)
    ]
    write_bundle(tmp_path / "good.tar", items)
    return identity, (tmp_path / "good.tar").read_bytes()


damage = st.lists(
    st.one_of(
        st.tuples(st.just("flip"), st.integers(min_value=0), st.integers(min_value=1, max_value=255)),
        st.tuples(st.just("cut"), st.integers(min_value=0), st.just(0)),
        st.tuples(st.just("insert"), st.integers(min_value=0), st.integers(min_value=0, max_value=255)),
    ),
    min_size=1,
    max_size=4,
)


def _apply(data: bytes, steps) -> bytes:
    out = bytearray(data)
    for kind, where, value in steps:
        if not out:
            break
        at = where % len(out)
        if kind == "flip":
            out[at] ^= value
        elif kind == "cut":
            del out[at:]
        else:
            out[at:at] = bytes([value]) * 512
    return bytes(out)


def test_damaged_bundles_fail_cleanly(tmp_path):
    identity, good = _valid_bundle(tmp_path)
    counter = iter(range(10**6))

    @_SETTINGS
    @given(damage)
    def check(steps):
        n = next(counter)
        path = tmp_path / f"d{n}.tar"
        data = _apply(good, steps)
        path.write_bytes(data)
        try:
            entries = read_index(path)
        except BundleError:
            entries = None
        if entries is not None:
            for e in entries:
                assert 0 < e.offset and e.offset + e.size <= len(data)
        out = tmp_path / f"out{n}"
        try:
            result = open_bundle(str(path), [identity], str(out))
        except Error:
            assert entries is None and not out.exists()
            return
        # Whatever opened is acknowledged; whatever failed is not.
        acked = {rid.hex() for rid, _, _ in parse_ack((out / "ack").read_bytes())} if result.ack_written else set()
        assert acked == set(result.opened)
        assert not acked & {rid for rid, _ in result.failures}

    check()


@_SETTINGS
@given(damage)
def test_damaged_acks_fail_cleanly(steps):
    good = format_ack([(secrets.token_hex(16), secrets.token_hex(32), secrets.token_hex(32)) for _ in range(3)])
    data = _apply(good, steps)
    try:
        pairs = parse_ack(data)
    except AckError:
        return
    # Damage that still parses must have left the entries intact (e.g. a flip that undid itself).
    assert data == good and len(pairs) == 3

"""The acknowledgement format: what the server deletes on, so every damage must be refused whole."""

from __future__ import annotations

import hashlib
import secrets

import pytest

from crypto.staff import ack
from crypto.staff.ack import AckError, format_ack, parse_ack


def _pairs(n=3):
    # (id, sha256 of the sealed bytes, purge secret): what `meldpunt open` lists for a report.
    return [(secrets.token_hex(16), secrets.token_hex(32), secrets.token_hex(32)) for _ in range(n)]


def test_round_trip_sorted_and_exact():
    pairs = _pairs(5)
    data = format_ack(pairs)
    assert data.startswith(b"meldpunt-ack 2\n") and data.splitlines()[-1].startswith(b"end 5 ")
    assert parse_ack(data) == sorted((bytes.fromhex(i), bytes.fromhex(h), bytes.fromhex(s)) for i, h, s in pairs)
    assert format_ack(reversed(pairs)) == data


def test_a_report_without_a_secret_is_listed_with_a_dash():
    # A version 1 report (sealed before purge secrets) has none: the server matches id and hash.
    rid, digest = secrets.token_hex(16), secrets.token_hex(32)
    data = format_ack([(rid, digest, "")])
    assert f"{rid} {digest} -\n".encode() in data
    assert parse_ack(data) == [(bytes.fromhex(rid), bytes.fromhex(digest), None)]


def test_pairs_without_secrets_and_old_acknowledgements_are_refused():
    with pytest.raises(AckError, match="secret"):
        format_ack([(secrets.token_hex(16), secrets.token_hex(32))])
    body = b"meldpunt-ack 1\n"
    with pytest.raises(AckError, match="older meldpunt"):
        parse_ack(body + b"end 0 " + hashlib.sha256(body).hexdigest().encode() + b"\n")


def test_empty_ack_is_valid():
    assert parse_ack(format_ack([])) == []


def test_format_refuses_bad_entries():
    with pytest.raises(AckError):
        format_ack([("xyz", "00" * 32, "22" * 32)])
    with pytest.raises(AckError):
        format_ack([(secrets.token_hex(16), "00" * 32, "short")])
    rid = secrets.token_hex(16)
    with pytest.raises(AckError):
        format_ack([(rid, "00" * 32, "22" * 32), (rid, "11" * 32, "22" * 32)])


def _damaged() -> dict[str, bytes]:
    good = format_ack(_pairs(4))
    lines = good.split(b"\n")
    swapped = b"\n".join(
        [lines[0], lines[1].replace(lines[1][:1], b"f" if lines[1][:1] != b"f" else b"e", 1)] + lines[2:]
    )
    body = b"".join(line + b"\n" for line in lines[:-2])
    dup_body = body + lines[1] + b"\n"
    return {
        "empty": b"",
        "not-an-ack": b"hello\n",
        "wrong-version": good.replace(b"meldpunt-ack 2", b"meldpunt-ack 3", 1),
        "truncated-mid-line": good[:60],
        "truncated-before-end": body,
        "truncated-in-end-line": good[:-10],
        "no-final-newline": good[:-1],
        "altered-entry": swapped,
        "dropped-entry": b"".join(line + b"\n" for line in lines[:2] + lines[3:-1]),
        "count-mismatch": body + b"end 3 " + hashlib.sha256(body).hexdigest().encode() + b"\n",
        "duplicate-entry": dup_body + b"end 5 " + hashlib.sha256(dup_body).hexdigest().encode() + b"\n",
        "crlf": good.replace(b"\n", b"\r\n"),
        "uppercase-hex": body.upper().replace(b"MELDPUNT-ACK", b"meldpunt-ack")
        + b"end 4 "
        + hashlib.sha256(body.upper().replace(b"MELDPUNT-ACK", b"meldpunt-ack")).hexdigest().encode()
        + b"\n",
        "extra-field": (b := b"meldpunt-ack 2\n" + lines[1] + b" extra\n")
        + b"end 1 "
        + hashlib.sha256(b).hexdigest().encode()
        + b"\n",
        "missing-secret": (b := b"meldpunt-ack 2\n" + lines[1][:97] + b"\n")
        + b"end 1 "
        + hashlib.sha256(b).hexdigest().encode()
        + b"\n",
        "oversized": b"meldpunt-ack 2\n" + b"0" * ack.MAX_ACK_BYTES,
    }


DAMAGED = _damaged()


@pytest.mark.parametrize("name", sorted(DAMAGED))
def test_damaged_ack_is_refused(name):
    with pytest.raises(AckError):
        parse_ack(DAMAGED[name])

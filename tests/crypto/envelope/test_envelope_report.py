"""crypto/envelope/report.py and crypto/envelope/receipt.py: the schema the offline side decodes, and receipt codes."""

import dataclasses
import json
import re

import pytest

from crypto.envelope import report
from crypto.envelope.errors import ReceiptError, ReportError
from crypto.envelope.receipt import ALPHABET, new_receipt, normalise_receipt


def sample(**changes) -> report.Report:
    r = report.Report(
        urls=("http://example.org/a", "magnet:?xt=urn:btih:" + "a" * 40),
        found_on="forum",
        kinds=("images", "drawn"),
        access="invite: ABC",
        seen_on="2026-11-01",
        description="Zwölf Äpfel — «test» 🙂\nline two",
        child_in_danger=True,
        contact="",
        language="de",
        receipt="K7QM-4XPA-9TNR-2HWC",
        received_on="2026-11-22",
    )
    return dataclasses.replace(r, **changes)


def test_round_trip_is_exact_and_canonical():
    r = sample()
    data = report.encode(r)
    assert report.decode(data) == r
    obj = json.loads(data)
    assert data == json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert "🙂".encode() in data  # UTF-8, not \\u escapes
    assert report.encode(report.decode(data)) == data


@pytest.mark.parametrize(
    "mutate",
    [
        lambda o: o.pop("contact"),
        lambda o: o.update(extra="x"),
        lambda o: o.update(version=4),
        lambda o: o.update(version=2),  # a version 2 report has no channel, via or campaign
        lambda o: o.update(version=1),  # a version 1 report has no purge secret
        lambda o: o.pop("purge_secret"),  # ... and a version 3 report must have one
        lambda o: o.pop("channel"),
        lambda o: o.update(channel=""),
        lambda o: o.update(channel="tor"),
        lambda o: o.update(via="link"),
        lambda o: o.update(campaign="Lockdown-2020"),
        lambda o: o.update(campaign="-lockdown"),
        lambda o: o.update(campaign="lockdown-"),
        lambda o: o.update(campaign="lock down"),
        lambda o: o.update(campaign="a" * 33),
        lambda o: o.update(campaign=5),
        lambda o: o.update(purge_secret=""),
        lambda o: o.update(purge_secret="AB" * 32),
        lambda o: o.update(purge_secret="ab" * 31),
        lambda o: o.update(version=True),
        lambda o: o.update(child_in_danger=1),
        lambda o: o.update(urls="http://x.org"),
        lambda o: o.update(urls=[]),
        lambda o: o.update(urls=["http://x.org"] * 21),
        lambda o: o.update(kinds=["images", "images"]),
        lambda o: o.update(kinds=["pictures"]),
        lambda o: o.update(found_on="darkweb"),
        lambda o: o.update(language="es"),
        lambda o: o.update(received_on="2026-11-22T10:00:00"),
        lambda o: o.update(seen_on="20261101"),
        lambda o: o.update(receipt="k7qm-4xpa-9tnr-2hwc"),
        lambda o: o.update(description=5),
    ],
)
def test_decode_refuses_anything_encode_would_not_make(mutate):
    obj = json.loads(report.encode(sample()))
    mutate(obj)
    with pytest.raises(ReportError):
        report.decode(json.dumps(obj).encode())


def test_each_report_carries_a_fresh_purge_secret():
    first, second = sample(), sample()
    assert first.purge_secret != second.purge_secret and len(first.purge_secret) == 64
    assert report.decode(report.encode(first)).purge_secret == first.purge_secret


def test_a_version_1_report_still_opens_without_a_secret():
    # Sealed before purge secrets existed: exactly version 1's fields.
    obj = json.loads(report.encode(sample()))
    for name in ("purge_secret", "channel", "via", "campaign"):
        del obj[name]
    obj["version"] = 1
    old = report.decode(json.dumps(obj).encode())
    assert old.version == 1 and old.purge_secret == "" and (old.channel, old.via, old.campaign) == ("", "", "")
    assert report.decode(report.encode(old)) == old


def test_a_version_2_report_still_opens_without_channel_or_campaign():
    # Sealed before the channel and the campaign were recorded: exactly version 2's fields.
    obj = json.loads(report.encode(sample()))
    for name in ("channel", "via", "campaign"):
        del obj[name]
    obj["version"] = 2
    old = report.decode(json.dumps(obj).encode())
    assert old.version == 2 and len(old.purge_secret) == 64 and (old.channel, old.via, old.campaign) == ("", "", "")
    assert json.loads(report.encode(old)) == obj


@pytest.mark.parametrize("tag", ["a", "lockdown-2020", "x" * 32, "2026", "a-b-c"])
def test_a_version_3_report_carries_its_channel_and_campaign(tag):
    r = sample(channel="https", via="extension", campaign=tag)
    assert report.decode(report.encode(r)) == r


@pytest.mark.parametrize("data", [b"", b"[]", b"\xff", b'{"a":1,"a":2}', b"NaN", b'{"version": Infinity}'])
def test_decode_refuses_non_reports(data):
    with pytest.raises(ReportError):
        report.decode(data)


def test_encode_refuses_a_report_that_could_not_be_decoded():
    with pytest.raises(ReportError):
        report.encode(sample(kinds=()))


def test_receipts_are_random_grouped_and_free_of_look_alikes():
    codes = {new_receipt() for _ in range(2000)}
    assert len(codes) == 2000
    for code in codes:
        assert re.fullmatch(rf"[{ALPHABET}]{{4}}(-[{ALPHABET}]{{4}}){{3}}", code)
    assert not set("01ILOU") & set(ALPHABET)
    # At least 64 bits: 16 symbols from an alphabet of 30.
    assert 16 * __import__("math").log2(len(ALPHABET)) >= 64
    # Every symbol turns up (a broken generator would stick to a subset).
    assert set("".join(codes).replace("-", "")) == set(ALPHABET)


def test_normalise_accepts_what_people_type():
    assert normalise_receipt(" k7qm 4xpa-9tnr2hwc ") == "K7QM-4XPA-9TNR-2HWC"
    for bad in ["", "K7QM-4XPA-9TNR", "K7QM-4XPA-9TNR-2HWO", "K7QM-4XPA-9TNR-2HWC-AAAA", "x" * 1000]:
        with pytest.raises(ReceiptError):
            normalise_receipt(bad)


def test_receipt_symbols_are_uniform():
    # 128,000 symbols; a modulo bias (some symbols 9/8 as likely as others) gives chi-square ~ 300+.
    from collections import Counter

    counts = Counter("".join(new_receipt().replace("-", "") for _ in range(8000)))
    expected = 8000 * 16 / len(ALPHABET)
    chi2 = sum((counts[s] - expected) ** 2 / expected for s in ALPHABET)
    assert chi2 < 80  # 29 degrees of freedom: exceeded by chance with p < 1e-6

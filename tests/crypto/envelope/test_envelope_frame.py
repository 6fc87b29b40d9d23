"""The fixed-size frame every report is sealed in: one length for every report, and a strict
reader."""

from __future__ import annotations

import pytest

from crypto import age
from crypto.age import keys
from crypto.envelope import frame
from crypto.envelope.errors import FrameError


def test_sealed_reports_have_one_length():
    recipients = [keys.generate("pq").recipient(), keys.generate("pq").recipient()]
    lengths = {len(age.encrypt(frame.frame(b"r" * n), recipients)) for n in (0, 1, 2048, frame.MAX_REPORT_BYTES)}
    assert len(lengths) == 1


def test_frame_contract():
    assert frame.FRAME_SIZE == 16384
    for report in (b"", b"{}", b"x" * frame.MAX_REPORT_BYTES):
        framed = frame.frame(report)
        assert len(framed) == frame.FRAME_SIZE
        assert frame.unframe(framed) == report
    with pytest.raises(FrameError):
        frame.frame(b"x" * (frame.MAX_REPORT_BYTES + 1))


@pytest.mark.parametrize(
    "mutate",
    [
        lambda f: f[:-1],
        lambda f: f + b"\x00",
        lambda f: f[:-1] + b"\x01",  # non-zero padding
        lambda f: (20000).to_bytes(4, "big") + f[4:],  # length out of range
        lambda f: (3).to_bytes(4, "big") + f[4:],  # length shorter than the content
        lambda f: b"",
    ],
)
def test_unframe_is_strict(mutate):
    with pytest.raises(FrameError):
        frame.unframe(mutate(frame.frame(b'{"a": 1}')))

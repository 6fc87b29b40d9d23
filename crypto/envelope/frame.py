"""Framing a report before sealing, so that every sealed report has the same length.

A frame is  length (4 bytes, big endian) || report || zero bytes  up to exactly FRAME_SIZE.
The ciphertext length then says nothing about how long the report was (how many URLs, how
long a description), to whoever holds the database or watches exports.
"""

from __future__ import annotations

from crypto.envelope.errors import FrameError

# 16 KiB: about eight times a typical 2 KiB report, so the longest report the form accepts
# (its field limits are sized to fit MAX_REPORT_BYTES, even in 4-byte UTF-8) still fits; and
# under age's 64 KiB chunk, so a sealed report is a single STREAM chunk whose length is fixed.
# Larger would only cost storage on every report.
FRAME_SIZE = 16384
_LENGTH_BYTES = 4
MAX_REPORT_BYTES = FRAME_SIZE - _LENGTH_BYTES


def frame(report: bytes) -> bytes:
    if len(report) > MAX_REPORT_BYTES:
        raise FrameError(f"the report is {len(report)} bytes, over the limit of {MAX_REPORT_BYTES}")
    padding = FRAME_SIZE - _LENGTH_BYTES - len(report)
    return len(report).to_bytes(_LENGTH_BYTES, "big") + bytes(report) + bytes(padding)


def unframe(framed: bytes) -> bytes:
    """The strict inverse of frame(): any other input raises FrameError."""
    if len(framed) != FRAME_SIZE:
        raise FrameError(f"a frame is {FRAME_SIZE} bytes, not {len(framed)}")
    length = int.from_bytes(framed[:_LENGTH_BYTES], "big")
    if length > MAX_REPORT_BYTES:
        raise FrameError("the frame's length field is out of range")
    end = _LENGTH_BYTES + length
    if framed[end:] != bytes(FRAME_SIZE - end):
        raise FrameError("the frame's padding is not all zero")
    return bytes(framed[_LENGTH_BYTES:end])

"""Sealing a report and opening a sealed one: the envelope's chain, written once.

    seal:         Report -> encode -> frame -> age.encrypt -> sealed bytes
    open_sealed:  sealed bytes -> age.decrypt -> unframe -> decode -> Report

Every caller (the server, the staff application, the tests and the benches) goes through these
two functions, so that what is sealed and what is opened can never drift apart. Each step is
strict: a sealed report opens to a Report only if it is exactly what `seal` produces.
"""

from __future__ import annotations

from collections.abc import Sequence

from crypto import age
from crypto.envelope import frame, report
from crypto.envelope.report import Report

# The most bytes one sealed report may take, wherever it is stored or carried. A sealed report
# is one frame (16 KiB) plus the age header, about 1.5 KiB per post-quantum recipient; 1 MiB
# leaves room for hundreds of recipients and refuses anything absurd.
MAX_SEALED_BYTES = 1 << 20


def seal(r: Report, recipients: Sequence[age.Recipient]) -> bytes:
    """The report sealed to the recipients; always the same length for the same recipients."""
    return age.encrypt(frame.frame(report.encode(r)), recipients)


def open_sealed(sealed: bytes, identities: Sequence[age.Identity]) -> Report:
    """The report in `sealed`; raises an AgeError, FrameError or ReportError for anything else."""
    return report.decode(frame.unframe(age.decrypt(sealed, identities)))

"""Coverage-guided fuzz targets (atheris, libFuzzer) for the two parsers that read hostile bytes
on the air-gapped machine: the sealed-report reader (crypto.envelope.sealing.open_sealed: age's
armor, header, stanzas and payload, then the frame and the report schema) and the export-bundle
reader (crypto.staff.bundle.read_index and read_sealed, then each report through the first).

The only acceptable failure is a typed crypto.errors.Error; anything else (IndexError,
RecursionError, a hang, memory without bound) is a bug, and the input that caused it becomes a
file in fuzz_regressions/<target>/, replayed by test_faults_fuzz.py forever after.

    python tests/faults/fuzz_targets.py age|bundle [libFuzzer flags] [CORPUS_DIR ...]

The keys below are throwaway test identities, here so that seeds and crashes stay reproducible.
"""

from __future__ import annotations

import datetime
import hashlib
import io
import os
import sys
import tempfile
from pathlib import Path


def _import_crypto() -> None:
    # Imported by a function, not at the top: under the fuzzer, only crypto is instrumented for
    # coverage (atheris.instrument_imports around this call), which starts in a second instead of
    # the half minute that instrumenting every loaded module takes.
    global age, bundle, keys, report, open_sealed, seal, Error, IDENTITIES, RECIPIENTS
    from crypto import age
    from crypto.age import keys
    from crypto.envelope import report
    from crypto.envelope.sealing import open_sealed, seal
    from crypto.errors import Error
    from crypto.staff import bundle

    IDENTITIES = keys.parse_identities(TEST_IDENTITIES)
    RECIPIENTS = [i.recipient() for i in IDENTITIES]


TEST_IDENTITIES = (
    "AGE-SECRET-KEY-1PGLUJR45MW2MMA0TQKV80WVZ78KS3NMAQNEN9XWNFH58N4KUU0VQQR8H4Q\n"
    "AGE-SECRET-KEY-PQ-1A35UT5XXK78KVU48Z7TP75QZWXX3G7WSEU5TCK3Q8F5J6WYKKXKQPWRLQT\n"
)
MAX_BUNDLE_REPORTS = 4  # per input, so one input stays fast


def one_age_input(data: bytes) -> None:
    try:
        open_sealed(data, IDENTITIES)
    except Error:
        pass


_BUNDLE_DIR = None


def one_bundle_input(data: bytes) -> None:
    global _BUNDLE_DIR
    if _BUNDLE_DIR is None:  # the reader takes a path: one scratch file, rewritten per input
        base = "/dev/shm" if os.path.isdir("/dev/shm") else None
        _BUNDLE_DIR = tempfile.mkdtemp(prefix="meldpunt-fuzz-", dir=base)
    path = os.path.join(_BUNDLE_DIR, "bundle.tar")
    with open(path, "wb") as f:
        f.write(data)
    try:
        entries = bundle.read_index(path)
    except Error:
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        for entry in entries[:MAX_BUNDLE_REPORTS]:
            try:
                sealed = bundle.read_sealed(fd, entry)
            except Error:
                continue
            if hashlib.sha256(sealed).hexdigest() == entry.sha256:
                one_age_input(sealed)
    finally:
        os.close(fd)


TARGETS = {"age": one_age_input, "bundle": one_bundle_input}


def _sample_report(n: int) -> report.Report:
    return report.Report(
        urls=(f"http://example.org/{n}",),
        found_on="website",
        kinds=("images",),
        access="",
        seen_on="",
        description=f"fuzz seed {n}",
        child_in_danger=False,
        contact="",
        language="en",
        receipt="K7QM-4XPA-9TNR-2HWC",
        received_on="2026-01-02",
    )


def seeds(target: str) -> list[bytes]:
    """Valid inputs for the target: where the fuzzer starts (generated, so the format stays current)."""
    sealed = [seal(_sample_report(i), [r]) for i, r in enumerate(RECIPIENTS)]
    if target == "age":
        return [*sealed, age.encrypt(b"short", RECIPIENTS[:1], armor=True), age.encrypt(b"", RECIPIENTS[1:])]
    out = io.BytesIO()
    writer = bundle.BundleWriter(out)
    for i, s in enumerate(sealed):
        writer.add(bytes([i]) * 16, s, datetime.date(2026, 1, 2))
    writer.finish()
    empty = io.BytesIO()
    bundle.BundleWriter(empty).finish()
    return [out.getvalue(), empty.getvalue()]


def write_seeds(target: str, corpus: Path) -> None:
    corpus.mkdir(parents=True, exist_ok=True)
    for i, data in enumerate(seeds(target)):
        (corpus / f"seed-{i}").write_bytes(data)


def main(argv: list[str]) -> None:
    import atheris

    with atheris.instrument_imports(include=["crypto"]):
        _import_crypto()
    if len(argv) < 2 or argv[1] not in TARGETS:
        sys.exit(f"usage: {argv[0]} {'|'.join(TARGETS)} [libFuzzer flags] [CORPUS_DIR ...]")
    target = TARGETS[argv[1]]
    corpora = [Path(a) for a in argv[2:] if not a.startswith("-")]
    if corpora and not any(corpora[0].iterdir() if corpora[0].is_dir() else []):
        write_seeds(argv[1], corpora[0])
    atheris.Setup([argv[0], *argv[2:]], target)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
else:
    _import_crypto()

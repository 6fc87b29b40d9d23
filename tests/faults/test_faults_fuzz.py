"""Fuzzing the readers of hostile bytes (slow): the age reader and the export-bundle reader under
atheris (coverage-guided libFuzzer) for FUZZ_SECONDS each, both at once, in `make test`; longer by
hand with `make fuzz`. Every crash found is kept in fuzz_regressions/<target>/ and replayed here.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.faults import fuzz_targets
from tests.faults.faultkit import ROOT

FUZZ_SECONDS = int(os.environ.get("MELDPUNT_FUZZ_SECONDS", "25"))
HERE = Path(__file__).parent
REGRESSIONS = HERE / "fuzz_regressions"
ARTIFACTS = ROOT / "test-artifacts" / "fuzz"
DONE = re.compile(r"Done (\d+) runs in (\d+) second")


def regression_inputs() -> list[tuple[str, Path]]:
    return [
        (target, path)
        for target in fuzz_targets.TARGETS
        for path in sorted((REGRESSIONS / target).glob("*"))
        if path.is_file()
    ]


@pytest.mark.slow
def test_slow_fuzz_age_and_bundle_readers_raise_only_typed_errors(tmp_path):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    runs = {}
    for target in fuzz_targets.TARGETS:
        corpus = tmp_path / target
        fuzz_targets.write_seeds(target, corpus)
        (REGRESSIONS / target).mkdir(parents=True, exist_ok=True)
        log = open(tmp_path / f"{target}.log", "wb")
        command = [
            sys.executable,
            str(HERE / "fuzz_targets.py"),
            target,
            f"-max_total_time={FUZZ_SECONDS}",
            "-timeout=10",
            "-rss_limit_mb=1024",
            "-max_len=65536",
            "-print_final_stats=1",
            f"-artifact_prefix={ARTIFACTS}/{target}-",
            str(corpus),
            str(REGRESSIONS / target),
        ]
        runs[target] = (
            subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL),
            log,
        )
    results = {}
    try:
        for target, (proc, log) in runs.items():
            proc.wait(timeout=FUZZ_SECONDS + 120)
            log.close()
            text = (tmp_path / f"{target}.log").read_text(errors="replace")
            done = DONE.search(text)
            results[target] = (proc.returncode, int(done.group(1)) if done else 0, text)
    finally:
        for proc, log in runs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            log.close()
    for target, (code, count, text) in results.items():
        assert code == 0, (
            f"the {target} fuzzer found a crash (the input is in {ARTIFACTS}: add it to "
            f"{REGRESSIONS / target}/ as a regression test, then fix the reader):\n{text[-4000:]}"
        )
        # A harness that stopped exercising the reader must fail too, not pass quietly.
        assert count >= 1000, f"the {target} fuzzer ran only {count} inputs:\n{text[-2000:]}"
        print(f"\nfuzz {target}: {count} inputs in {FUZZ_SECONDS} s, no crash", file=sys.stderr)


@pytest.mark.parametrize("target,path", regression_inputs(), ids=lambda v: v.name if isinstance(v, Path) else v)
def test_fuzz_regression_inputs_raise_only_typed_errors(target, path):
    fuzz_targets.TARGETS[target](path.read_bytes())


def test_fuzz_seeds_reach_the_end_of_each_reader():
    # The seeds must be valid, or the fuzzer starts from nothing: each opens to a report.
    for data in fuzz_targets.seeds("age")[:2]:
        fuzz_targets.open_sealed(data, fuzz_targets.IDENTITIES)
    bundle_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"meldpunt-fuzz-seed-{os.getpid()}.tar"
    try:
        bundle_path.write_bytes(fuzz_targets.seeds("bundle")[0])
        assert len(fuzz_targets.bundle.read_index(bundle_path)) == 2
    finally:
        bundle_path.unlink(missing_ok=True)

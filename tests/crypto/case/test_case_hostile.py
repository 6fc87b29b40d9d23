"""Hostile bundles against `meldpunt case import`: the corpus `meldpunt open` faces
(tests/crypto/staff/test_staff_bundle.py and tests/faults/fuzz_regressions/bundle/) leaves the case
file exactly as it was, whether it stands alone or beside a good bundle."""

from __future__ import annotations

import datetime
import secrets
from pathlib import Path

import pytest

from tests.crypto.case.casekit import case_state, ok, run
from tests.crypto.staff.staffkit import make_report, new_identity, seal, write_bundle
from tests.crypto.staff.test_staff_bundle import HOSTILE

REGRESSIONS = Path(__file__).resolve().parents[2] / "faults" / "fuzz_regressions" / "bundle"
CORPUS = {
    **{name: data for name, (data, _) in HOSTILE.items()},
    **{f"fuzz-{p.name}": p.read_bytes() for p in sorted(REGRESSIONS.iterdir())},
}


@pytest.fixture(scope="module")
def existing(tmp_path_factory):
    """A case file with one bundle imported, a good bundle not yet imported, and the key."""
    tmp = tmp_path_factory.mktemp("case")
    identity, key = new_identity(tmp)
    for name in ("first.tar", "second.tar"):
        write_bundle(
            tmp / name,
            [
                (secrets.token_bytes(16), seal(make_report(n), [identity.recipient()]), datetime.date(2026, 11, 20))
                for n in range(3)
            ],
        )
    ok("case", "import", "--case", tmp / "case", "-i", key, tmp / "first.tar")
    return tmp, key


def test_the_corpus_is_all_there():
    assert len(CORPUS) >= len(HOSTILE) + 3


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_a_hostile_bundle_leaves_the_case_file_unchanged(existing, tmp_path, name):
    tmp, key = existing
    bundle = tmp_path / "hostile.tar"
    bundle.write_bytes(CORPUS[name])
    before = case_state(tmp / "case")
    # Beside a good bundle, after it on the command line: the good one is not imported either.
    result = run("case", "import", "--case", tmp / "case", "-i", key, tmp / "second.tar", bundle)
    assert result.exit_code == 1 and result.stderr.startswith("meldpunt: ")
    assert len(result.stderr.strip().splitlines()) == 1
    assert case_state(tmp / "case") == before
    # Into a folder that does not exist yet: nothing is created.
    result = run("case", "import", "--case", tmp_path / "new", "-i", key, bundle)
    assert result.exit_code == 1 and not (tmp_path / "new").exists()

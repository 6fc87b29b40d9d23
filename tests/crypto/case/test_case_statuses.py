"""What reporters are told, offline: `case signing-key`, `case report-status` and `case statuses`,
recorded in the case file and its audit log, and signed files whose version only grows."""

from __future__ import annotations

import datetime
import os

import pytest

from crypto.case.decisions import today
from crypto.status import file as status_file
from crypto.status.keys import VerifyKey
from crypto.status.lookup import lookup_key
from tests.crypto.case.casekit import case_state, db, imported_case, ok, run
from tests.crypto.staff.staffkit import make_report

DAY = datetime.date(2026, 11, 20)
ANALYST = ("--analyst", "Analyst One")


def _report_status(runner, case_dir, *args, **kwargs):
    """`case report-status` on this case file as ANALYST; `runner` is ok (must succeed) or run."""
    return runner("case", "report-status", "--case", case_dir, *ANALYST, *args, **kwargs)


@pytest.fixture
def case(tmp_path):
    """A case file with three reports; (folder, their receipt codes)."""
    reports = [make_report(n, urls=(f"http://s{n}.test/",)) for n in range(3)]
    case = imported_case(tmp_path, [(r, DAY) for r in reports])
    return case, [r.receipt for r in reports]


@pytest.fixture
def signing_key(tmp_path):
    path = tmp_path / "status.key"
    public = ok("case", "signing-key", "-o", path, "--no-passphrase").stdout.strip()
    return path, VerifyKey.parse(public)


def _statuses(case, key_path, out):
    ok("case", "statuses", "--case", case, *ANALYST, "--sign-key", key_path, "--out", out)
    return out


def test_statuses_flow_from_report_status_to_a_signed_file(case, signing_key, tmp_path):
    case_dir, codes = case
    key_path, public = signing_key
    # Any spelling of the code finds the report.
    out = _report_status(ok, case_dir, "--message", "abroad", codes[0].lower().replace("-", ""), "forwarded").stdout
    assert "now shows forwarded (abroad)" in out
    _report_status(ok, case_dir, codes[1], "in-review")

    first = status_file.decode(_statuses(case_dir, key_path, tmp_path / "s1").read_bytes(), public)
    assert first.version == 1
    found = {e.key: e for e in first.entries}
    assert (found[lookup_key(first.salt, codes[0])].state, found[lookup_key(first.salt, codes[0])].message) == (
        "forwarded",
        "abroad",
    )
    assert found[lookup_key(first.salt, codes[1])].state == "in-review"
    unset = found[lookup_key(first.salt, codes[2])]
    assert (unset.state, unset.message, unset.day.isoformat()) == ("received", None, today())  # since its import
    for code in codes:
        assert code.encode() not in (tmp_path / "s1").read_bytes()

    _report_status(ok, case_dir, codes[0], "removed")
    second = status_file.decode(_statuses(case_dir, key_path, tmp_path / "s2").read_bytes(), public)
    assert second.version == 2 and second.salt != first.salt
    entry = {e.key: e for e in second.entries}[lookup_key(second.salt, codes[0])]
    assert (entry.state, entry.message) == ("removed", None)

    with db(case_dir) as conn:
        assert [r[0] for r in conn.execute("SELECT version FROM status_files ORDER BY version")] == [1, 2]
        actions = [a for (a,) in conn.execute("SELECT json_extract(entry, '$.action') FROM audit ORDER BY seq")]
    assert actions == ["import", "report-status", "report-status", "status-file", "report-status", "status-file"]
    assert "verify" in ok("case", "verify", "--case", case_dir).stdout


def test_verify_sees_a_status_changed_beside_the_audit_log(case, tmp_path):
    case_dir, codes = case
    _report_status(ok, case_dir, codes[0], "in-review")
    with db(case_dir) as conn:
        conn.execute("UPDATE report_statuses SET state = 'removed'")
        conn.commit()
    result = run("case", "verify", "--case", case_dir)
    assert result.exit_code == 1 and "public status is not the one the audit log records" in result.stderr


def test_refusals_change_nothing(case, signing_key, tmp_path):
    case_dir, codes = case
    key_path, _ = signing_key
    before = case_state(case_dir)
    for args, message in [
        ((codes[0], "lost"), "Invalid value for 'STATE'"),
        (("--message", "call me on 555", codes[0], "closed"), "Invalid value for '--message'"),
        (("2345-6789-ABCD-EFGH", "closed"), "no report in the case file has the receipt code"),
        (("not-a-code", "closed"), "not a receipt code"),
    ]:
        result = _report_status(run, case_dir, *args)
        assert result.exit_code != 0 and message in result.output + result.stderr, result.output
    wrong = tmp_path / "not-a-key"
    wrong.write_text("hello\n")
    result = run("case", "statuses", "--case", case_dir, *ANALYST, "--sign-key", wrong, "--out", tmp_path / "s")
    assert result.exit_code == 1 and "not a status key file" in result.stderr
    assert case_state(case_dir) == before and not (tmp_path / "s").exists()


def test_signing_key_is_protected_unless_asked_not_to(tmp_path):
    passphrase = tmp_path / "pass"
    passphrase.write_text("a long enough passphrase\n")
    env = {"MELDPUNT_INSECURE_SCRYPT_WORK_FACTOR": "4"}
    from tests.crypto.case.casekit import run as invoke

    result = invoke("case", "signing-key", "-o", tmp_path / "k", "--passphrase-file", passphrase, env=env)
    assert result.exit_code == 0, result.stderr
    public = VerifyKey.parse(result.stdout.strip())
    data = (tmp_path / "k").read_bytes()
    assert b"SECRET-KEY" not in data and oct(os.stat(tmp_path / "k").st_mode & 0o777) == "0o600"
    assert invoke("case", "signing-key", "-o", tmp_path / "k", "--no-passphrase").exit_code == 1  # never overwritten
    # The protected key signs once its passphrase is given.
    imported_case(tmp_path, [(make_report(0), DAY)])
    result = invoke(
        "case",
        "statuses",
        "--case",
        tmp_path / "case",
        *ANALYST,
        "--sign-key",
        tmp_path / "k",
        "--passphrase-file",
        passphrase,
        "--out",
        tmp_path / "s",
        env=env,
    )
    assert result.exit_code == 0, result.stderr
    assert status_file.decode((tmp_path / "s").read_bytes(), public).version == 1


def test_report_status_by_address_and_in_bulk(tmp_path):
    # Five reports on one address (one of them on a second address too), one elsewhere.
    reports = [
        make_report(n, urls=("http://many.test/",) + (("http://two.test/",) if n == 0 else ())) for n in range(5)
    ] + [make_report(9, urls=("http://lone.test/",))]
    case_dir = imported_case(tmp_path, [(r, DAY) for r in reports])
    with db(case_dir) as conn:
        ids = dict(conn.execute("SELECT url, id FROM addresses"))
    out = _report_status(ok, case_dir, "--address", ids["http://many.test/"], "forwarded").stdout
    assert out == "5 report(s) now show forwarded; 0 already did.\n"
    # Again, with the lone report's code from standard input: only what changes is written.
    result = _report_status(
        run,
        case_dir,
        "--address",
        ids["http://two.test/"],
        "--receipts-from",
        "-",
        "forwarded",
        input=reports[5].receipt.lower() + "\n",
    )
    assert result.exit_code == 0 and result.stdout == "1 report(s) now show forwarded; 1 already did.\n"
    with db(case_dir) as conn:
        assert conn.execute("SELECT count(*) FROM report_statuses WHERE state = 'forwarded'").fetchone() == (6,)
        assert conn.execute("SELECT count(*) FROM audit WHERE entry LIKE '%report-status%'").fetchone() == (6,)
    # `case report` shows what the reporter sees.
    shown = ok("case", "report", "--case", case_dir, reports[5].receipt).stdout
    assert f"Reporter sees:  forwarded since {today()}" in shown
    # A code that does not exist refuses the whole command.
    before = case_state(case_dir)
    result = _report_status(run, case_dir, "--address", ids["http://lone.test/"], "2345-6789-ABCD-EFGH", "closed")
    assert result.exit_code == 1 and "no report in the case file" in result.stderr
    assert case_state(case_dir) == before
    ok("case", "verify", "--case", case_dir)

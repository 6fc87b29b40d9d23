"""`meldpunt case retention --apply -i IDENTITY`: the period identity file loses exactly the keys of
the periods whose reports are all past the reports' limit (same passphrase, rewritten whole), the
step is audited, and a bundle of a retired period then says "retired on …" when imported."""

from __future__ import annotations

import datetime
import json
import secrets

from crypto.age import keys
from crypto.case.schema import open_case
from crypto.envelope.sealing import seal
from crypto.periods import schedule as schedule_module
from tests.crypto.case.casekit import case_state, db, ok, run
from tests.crypto.staff.staffkit import make_report, write_bundle

TODAY = datetime.date.today()  # the day `case retention` reads (crypto/case/decisions.today)
A = ("--analyst", "Analyst One")
REPORTS_DAYS = 60


def _month_start(back: int) -> datetime.date:
    month = TODAY.month - back
    return datetime.date(TODAY.year + (month - 1) // 12, (month - 1) % 12 + 1, 1)


def test_apply_destroys_exactly_the_due_period_keys_and_their_bundles_say_retired(tmp_path, monkeypatch):
    # The identity file protected quickly, by keygen and by its rewrite alike.
    monkeypatch.setenv("MELDPUNT_INSECURE_SCRYPT_WORK_FACTOR", "10")
    pw = tmp_path / "pass"
    pw.write_text("a long enough passphrase for tests\n")
    identity, case = tmp_path / "staff.age", tmp_path / "case"
    firsts = [_month_start(back) for back in (4, 3, 2, 1, 0)]
    made = run(
        "keygen",
        "--periods",
        "5",
        "--start",
        firsts[0].isoformat(),
        "--passphrase-file",
        pw,
        "-o",
        identity,
        "--schedule",
        tmp_path / "schedule.txt",
    )
    assert made.exit_code == 0, made.output
    schedule = schedule_module.parse((tmp_path / "schedule.txt").read_text())

    def bundle(name: str, day: datetime.date) -> None:
        recipient = keys.parse_recipient(schedule.period_for(day).recipient)
        write_bundle(tmp_path / name, [(secrets.token_bytes(16), seal(make_report(), [recipient]), day)])

    for n, first in enumerate(firsts):
        bundle(f"b{n}.tar", first)
        ok("case", "import", "--case", case, "-i", identity, "--passphrase-file", pw, tmp_path / f"b{n}.tar")
    bundle("late-old.tar", firsts[0])  # not imported before retention: a copy on a medium, say
    bundle("late-new.tar", TODAY)
    ok("case", "retention", "--case", case, *A, "--set", f"reports={REPORTS_DAYS}", "--set", "contact=30")

    # A period is due when its last day is past the limit: every report of it is.
    last_due = TODAY - datetime.timedelta(days=REPORTS_DAYS)
    due = [
        first
        for first, following in zip(firsts, [*firsts[1:], None], strict=True)
        if following is not None and following - datetime.timedelta(days=1) <= last_due
    ]
    assert due and len(due) < len(firsts)
    listed = ", ".join(d.isoformat() for d in due)

    before = identity.read_bytes()
    dry = ok("case", "retention", "--case", case, "-i", identity, "--passphrase-file", pw).stdout
    assert f"Period keys due in {identity}: the periods starting {listed}." in dry
    assert identity.read_bytes() == before

    applied = ok("case", "retention", "--case", case, *A, "--apply", "-i", identity, "--passphrase-file", pw).stdout
    assert f"Destroyed the keys of the periods starting {listed}" in applied
    assert keys.is_encrypted(identity.read_bytes())  # still protected, by the same passphrase:
    shown = ok("keys", "show", "-i", identity, "--passphrase-file", pw).stdout.splitlines()
    assert shown == [f"{d.isoformat()}  " + (f"retired on {TODAY.isoformat()}" if d in due else "held") for d in firsts]
    with db(case) as conn:
        entries = [json.loads(t) for (t,) in conn.execute("SELECT entry FROM audit ORDER BY seq")]
    (step,) = [e["data"] for e in entries if e["action"] == "retention" and e["data"]["step"] == "keys"]
    assert step["periods"] == [d.isoformat() for d in due] and step["policy"]["reports"] == REPORTS_DAYS
    assert "AGE-SECRET-KEY" not in json.dumps(entries)

    refused = run("case", "import", "--case", case, "-i", identity, "--passphrase-file", pw, tmp_path / "late-old.tar")
    assert refused.exit_code == 1
    assert f"the key for the period starting {firsts[0]} was retired on {TODAY}" in refused.stderr
    ok("case", "import", "--case", case, "-i", identity, "--passphrase-file", pw, tmp_path / "late-new.tar")
    verified = ok("case", "verify", "--case", case).stdout
    assert f"destroyed the keys of {len(due)} period(s)" in verified

    # Nothing more is due: the identity file is not rewritten again.
    after = identity.read_bytes()
    again = ok("case", "retention", "--case", case, *A, "--apply", "-i", identity, "--passphrase-file", pw).stdout
    assert f"No period key is due in {identity}." in again and identity.read_bytes() == after


def test_a_long_term_identity_file_is_refused_before_anything_changes(tmp_path):
    plain = tmp_path / "long-term.age"
    ok("keygen", "--no-passphrase", "-o", plain)
    case = tmp_path / "case"
    open_case(str(case), create=True).close()
    before = case_state(case)
    result = run("case", "retention", "--case", case, *A, "--apply", "--set", "reports=400", "-i", plain)
    assert result.exit_code == 1 and "holds long-term keys, not key periods" in result.stderr
    assert case_state(case) == before

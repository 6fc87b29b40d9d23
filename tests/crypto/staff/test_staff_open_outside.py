"""`meldpunt open` and `meldpunt find`, continued: nothing reaches outside DIR (planted links, a
reports folder that is a link), protected and rotated keys, finding a report by its receipt, and
the real process (a progress bar only on a terminal, a hostile bundle refused in one line)."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from crypto.age import keys
from tests.clirun import read_terminal
from tests.crypto.staff.staffkit import make_report, new_identity, run, sealed_bundle, tree


def test_planted_links_never_send_plaintext_outside_dir(tmp_path, staff_key):
    identity, key = staff_key
    opened = sealed_bundle(tmp_path / "b.tar", [make_report(0)], [identity.recipient()])
    outside = tmp_path / "outside"
    outside.mkdir()
    victim = outside / "victim"
    victim.write_text("untouched")
    out = tmp_path / "out"
    (out / "reports").mkdir(parents=True)
    (out / "reports" / f"{opened[0][0]}.json").symlink_to(victim)
    (out / "index.html").symlink_to(victim)
    result = run("open", tmp_path / "b.tar", "-i", key, "--out", out)
    assert result.exit_code == 0, result.output
    assert victim.read_text() == "untouched" and list(outside.iterdir()) == [victim]
    assert not (out / "index.html").is_symlink()
    assert not (out / "reports" / f"{opened[0][0]}.json").is_symlink()

    # A link at the temp name is refused, and then no acknowledgement is written.
    out2 = tmp_path / "out2"
    out2.mkdir()
    (out2 / ".urls.txt.tmp").symlink_to(victim)
    result = run("open", tmp_path / "b.tar", "-i", key, "--out", out2)
    assert result.exit_code == 1 and "symbolic link" in result.stderr
    assert victim.read_text() == "untouched" and not (out2 / "ack").exists()
    # The same for the page, which is written by a child process.
    out3 = tmp_path / "out3"
    out3.mkdir()
    (out3 / ".index.html.tmp").symlink_to(victim)
    result = run("open", tmp_path / "b.tar", "-i", key, "--out", out3)
    assert result.exit_code == 1, result.output
    assert result.stderr.strip().splitlines() == [
        f"meldpunt: cannot write {out3 / 'index.html'}: a symbolic link is in the way"
    ]
    assert victim.read_text() == "untouched" and not (out3 / "ack").exists()


def test_reports_dir_that_is_a_link_is_refused(tmp_path, staff_key):
    identity, key = staff_key
    sealed_bundle(tmp_path / "b.tar", [make_report(0)], [identity.recipient()])
    outside = tmp_path / "outside"
    outside.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    (out / "reports").symlink_to(outside)
    result = run("open", tmp_path / "b.tar", "-i", key, "--out", out)
    assert result.exit_code == 1 and "symbolic link" in result.stderr
    assert list(outside.iterdir()) == [] and not (out / "ack").exists()


def test_protected_identity_with_passphrase_file(tmp_path):
    identity = keys.generate("pq")
    key = tmp_path / "staff.key.age"
    key.write_bytes(keys.protect(keys.identity_file_text(identity), "correct horse", work_factor=10))
    (tmp_path / "pass").write_text("correct horse\n")
    (tmp_path / "wrong").write_text("wrong\n")
    sealed_bundle(tmp_path / "b.tar", [make_report(0)], [identity.recipient()])
    result = run(
        "open", tmp_path / "b.tar", "-i", key, "--passphrase-file", tmp_path / "wrong", "--out", tmp_path / "o"
    )
    assert result.exit_code == 1 and result.stderr.startswith("meldpunt: wrong passphrase")
    assert not (tmp_path / "o").exists()
    result = run("open", tmp_path / "b.tar", "-i", key, "--passphrase-file", tmp_path / "pass", "--out", tmp_path / "o")
    assert result.exit_code == 0, result.output


def test_key_rotation_reports_before_during_and_after_open_with_the_right_keys(tmp_path):
    old, old_key = new_identity(tmp_path, "old")
    new, new_key = new_identity(tmp_path, "new")
    # Before: config lists the old key; during: both; after: the old recipient removed.
    before = sealed_bundle(tmp_path / "b1.tar", [make_report(1)], [old.recipient()])
    during = sealed_bundle(tmp_path / "b2.tar", [make_report(2)], [old.recipient(), new.recipient()])
    after = sealed_bundle(tmp_path / "b3.tar", [make_report(3)], [new.recipient()])
    expected = {"b1": before, "b2": during, "b3": after}

    def opens(bundle: str, *key_files) -> bool:
        args = [
            "open",
            tmp_path / f"{bundle}.tar",
            "--out",
            tmp_path / f"out-{bundle}-{len(key_files)}-{key_files[0].stem}",
        ]
        for k in key_files:
            args += ["-i", k]
        result = run(*args)
        return result.exit_code == 0

    for bundle in expected:
        assert opens(bundle, old_key, new_key), bundle  # staff keep the old key offline: all open
    assert [opens(b, new_key) for b in expected] == [False, True, True]
    assert [opens(b, old_key) for b in expected] == [True, True, False]


def test_find_by_receipt_in_any_spelling(tmp_path, staff_key):
    identity, key = staff_key
    target = make_report(3, description="line one\n\x1b]0;owned\x07 evil title", urls=("http://x.test/\u202eexe.gnp",))
    sealed_bundle(tmp_path / "b.tar", [make_report(1), target, make_report(2)], [identity.recipient()])
    out = tmp_path / "out"
    assert run("open", tmp_path / "b.tar", "-i", key, "--out", out).exit_code == 0
    typed = target.receipt.replace("-", "").lower()
    result = run("find", typed, out)
    assert result.exit_code == 0, result.output
    assert f"Receipt:      {target.receipt}" in result.stdout
    assert "http://x.test/<U+202E>exe.gnp" in result.stdout
    assert "<U+001B>]0;owned<U+0007> evil title" in result.stdout
    assert "\x1b" not in result.stdout and "\u202e" not in result.stdout
    others = run("find", make_report(0).receipt, out)
    assert others.exit_code == 1 and others.stderr.startswith("meldpunt: no opened report")
    bad = run("find", "not-a-code", out)
    assert bad.exit_code == 1 and bad.stderr.startswith("meldpunt: not a receipt code")


def test_nothing_outside_dir_on_success(tmp_path, staff_key):
    identity, key = staff_key
    sealed_bundle(tmp_path / "b.tar", [make_report(i) for i in range(40)], [identity.recipient()])
    before = tree(tmp_path)
    assert run("open", tmp_path / "b.tar", "-i", key, "--out", tmp_path / "out").exit_code == 0
    after = tree(tmp_path)
    assert {k: v for k, v in after.items() if not k.startswith("out")} == before
    assert all(k == "out" or k.startswith("out/") for k in set(after) - set(before))
    assert re.fullmatch(r"[0-9a-f]{32}\.json", sorted(os.listdir(tmp_path / "out" / "reports"))[0])
    assert hashlib.sha256((tmp_path / "b.tar").read_bytes()).hexdigest() == hashlib.sha256(before["b.tar"]).hexdigest()


def _run_real(args, *, stderr_tty: bool) -> tuple[int, str, str]:
    """Runs the installed `meldpunt` in a real process; stderr on a pseudo-terminal if asked."""
    import pty
    import subprocess
    import sys

    exe = Path(sys.executable).with_name("meldpunt")
    if not stderr_tty:
        done = subprocess.run([str(exe), *map(str, args)], capture_output=True, text=True, timeout=120)
        return done.returncode, done.stdout, done.stderr
    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen([str(exe), *map(str, args)], stdout=subprocess.PIPE, stderr=slave, text=True)
        os.close(slave)
        chunks = []
        while (data := read_terminal(master, 65536)) is not None:
            chunks.append(data)
        stdout = proc.stdout.read()
        proc.stdout.close()
        return proc.wait(timeout=120), stdout, b"".join(chunks).decode("utf-8", "replace")
    finally:
        os.close(master)


def test_progress_bar_only_on_a_terminal(tmp_path, staff_key):
    identity, key = staff_key
    sealed_bundle(tmp_path / "b.tar", [make_report(i) for i in range(40)], [identity.recipient()])
    code, stdout, stderr = _run_real(["open", tmp_path / "b.tar", "-i", key, "--out", tmp_path / "a"], stderr_tty=True)
    assert code == 0 and "Opened 40 of 40" in stdout
    assert "Opening" in stderr and "40/40" in stderr
    code, stdout, stderr = _run_real(["open", tmp_path / "b.tar", "-i", key, "--out", tmp_path / "b"], stderr_tty=False)
    assert code == 0 and "Opened 40 of 40" in stdout and stderr == ""


def test_real_process_refuses_a_hostile_bundle_in_one_line(tmp_path, staff_key):
    _, key = staff_key
    (tmp_path / "b.tar").write_bytes(b"\0" * 100)
    code, stdout, stderr = _run_real(["open", tmp_path / "b.tar", "-i", key, "--out", tmp_path / "o"], stderr_tty=False)
    assert code == 1 and stdout == ""
    assert stderr == "meldpunt: the bundle is truncated: it ends without the end-of-archive marker\n"
    assert not (tmp_path / "o").exists()

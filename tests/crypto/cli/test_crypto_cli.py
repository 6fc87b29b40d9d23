"""The `meldpunt keygen | encrypt | decrypt` commands, run as a staff member would run them."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from tests.clirun import ROOT, meldpunt, run_in_terminal

PASSPHRASE = "correct horse battery staple"


@pytest.fixture
def pw(tmp_path: Path) -> Path:
    path = tmp_path / "pw"
    path.write_text(PASSPHRASE + "\nignored second line\n")
    return path


def keygen(tmp_path: Path, *args: str, name: str = "id.age") -> tuple[Path, str]:
    path = tmp_path / name
    result = meldpunt("keygen", "-o", str(path), *args, check=True)
    return path, result.stdout.decode()


def test_installed_entry_point_exists():
    # `make install` leaves the CLI beside the interpreter of the virtualenv.
    assert (Path(sys.executable).parent / "meldpunt").exists()


def test_keygen_defaults_to_a_protected_post_quantum_key(tmp_path, pw):
    path, stdout = keygen(tmp_path, "--passphrase-file", str(pw))
    assert stdout.startswith("age1pq1") and stdout.endswith("\n")
    assert stdout.count("\n") == 1 and " " not in stdout.strip()  # the recipient alone
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    data = path.read_bytes()
    assert data.startswith(b"-----BEGIN AGE ENCRYPTED FILE-----\n")
    assert b"AGE-SECRET-KEY" not in data


def test_keygen_x25519_plain(tmp_path):
    path, stdout = keygen(tmp_path, "--x25519", "--no-passphrase", name="id.txt")
    text = path.read_text()
    assert stdout.startswith("age1") and not stdout.startswith("age1pq1")
    assert f"# public key: {stdout.strip()}\n" in text
    assert "\nAGE-SECRET-KEY-1" in text
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_keygen_never_overwrites(tmp_path, pw):
    path = tmp_path / "id.age"
    path.write_bytes(b"an older key")
    result = meldpunt("keygen", "-o", str(path), "--passphrase-file", str(pw))
    assert result.returncode == 1
    assert path.read_bytes() == b"an older key"
    assert result.stdout == b""
    assert result.stderr.decode().count("\n") == 1


def test_keygen_refuses_a_short_passphrase(tmp_path):
    (tmp_path / "short").write_text("abc\n")
    result = meldpunt("keygen", "-o", str(tmp_path / "id.age"), "--passphrase-file", str(tmp_path / "short"))
    assert result.returncode == 1 and not (tmp_path / "id.age").exists()
    assert b"at least" in result.stderr


def test_round_trip_through_files_and_pipes(tmp_path, pw):
    identity, recipient = keygen(tmp_path, "--passphrase-file", str(pw))
    plaintext = os.urandom(200_000)
    (tmp_path / "in").write_bytes(plaintext)
    meldpunt("encrypt", "-r", recipient.strip(), "-o", str(tmp_path / "sealed"), str(tmp_path / "in"), check=True)
    result = meldpunt(
        "decrypt",
        "-i",
        str(identity),
        "--passphrase-file",
        str(pw),
        input=(tmp_path / "sealed").read_bytes(),
        check=True,
    )
    assert result.stdout == plaintext
    out = tmp_path / "out"
    meldpunt(
        "decrypt",
        "-i",
        str(identity),
        "--passphrase-file",
        str(pw),
        "-o",
        str(out),
        str(tmp_path / "sealed"),
        check=True,
    )
    assert out.read_bytes() == plaintext
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


def test_recipients_file_armor_and_several_recipients(tmp_path):
    ids = [keygen(tmp_path, "--no-passphrase", name=f"id{n}") for n in range(2)]
    rfile = tmp_path / "recipients"
    rfile.write_text("# hotline staff\n\n" + "".join(r for _, r in ids))
    sealed = meldpunt("encrypt", "-R", str(rfile), "-a", input=b"report", check=True).stdout
    assert sealed.startswith(b"-----BEGIN AGE ENCRYPTED FILE-----\n")
    for path, _ in ids:
        assert meldpunt("decrypt", "-i", str(path), input=sealed, check=True).stdout == b"report"


def test_passphrase_encryption(tmp_path, pw):
    sealed = meldpunt("encrypt", "-p", "--passphrase-file", str(pw), input=b"secret", check=True).stdout
    assert b"-> scrypt " in sealed
    assert meldpunt("decrypt", "--passphrase-file", str(pw), input=sealed, check=True).stdout == b"secret"


def failed_cleanly(result) -> bool:
    lines = result.stderr.decode().splitlines()
    return (
        result.returncode == 1
        and result.stdout == b""
        and len(lines) == 1
        and lines[0].startswith("meldpunt: ")
        and "Traceback" not in lines[0]
    )


def test_failures_write_nothing_and_say_one_line(tmp_path, pw):
    identity, recipient = keygen(tmp_path, "--no-passphrase", name="id")
    other, _ = keygen(tmp_path, "--no-passphrase", name="other")
    sealed = meldpunt("encrypt", "-r", recipient.strip(), input=os.urandom(70_000), check=True).stdout
    out = tmp_path / "out"
    cases = {
        "wrong key": (["-i", str(other)], sealed),
        "truncated": (["-i", str(identity)], sealed[:-1]),
        "altered": (["-i", str(identity)], sealed[:300] + bytes([sealed[300] ^ 1]) + sealed[301:]),
        "last chunk altered": (["-i", str(identity)], sealed[:-5] + bytes([sealed[-5] ^ 1]) + sealed[-4:]),
        "garbage": (["-i", str(identity)], b"hello"),
        "empty": (["-i", str(identity)], b""),
    }
    for name, (args, data) in cases.items():
        result = meldpunt("decrypt", *args, "-o", str(out), input=data)
        assert failed_cleanly(result), name
        assert not out.exists(), name
        assert not list(tmp_path.glob(".meldpunt-*")), name  # no temporary file left behind
        # An existing OUT is left exactly as it was.
        out.write_bytes(b"before")
        assert failed_cleanly(meldpunt("decrypt", *args, "-o", str(out), input=data)), name
        assert out.read_bytes() == b"before", name
        out.unlink()


def test_wrong_passphrase_for_the_identity_file(tmp_path, pw):
    identity, recipient = keygen(tmp_path, "--passphrase-file", str(pw))
    sealed = meldpunt("encrypt", "-r", recipient.strip(), input=b"x", check=True).stdout
    (tmp_path / "wrong").write_text("not the passphrase\n")
    result = meldpunt("decrypt", "-i", str(identity), "--passphrase-file", str(tmp_path / "wrong"), input=sealed)
    assert failed_cleanly(result)
    assert b"wrong passphrase" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["encrypt", "-r", "age1nope"],
        ["encrypt", "-R", "/nonexistent/recipients"],
        ["decrypt", "-i", "/nonexistent/identity"],
        ["decrypt", "-i", "/etc/hostname"],
        ["decrypt", "--passphrase-file", "/nonexistent/pw"],
    ],
)
def test_bad_arguments_fail_with_one_line(args):
    sealed = b"age-encryption.org/v1\n-> scrypt AAAAAAAAAAAAAAAAAAAAAA 10\nAAAA\n--- " + b"A" * 43 + b"\n"
    result = meldpunt(*args, input=sealed)
    assert failed_cleanly(result), result.stderr


def test_help_lists_the_age_commands():
    out = meldpunt("--help", check=True).stdout.decode()
    for name in ("keygen", "encrypt", "decrypt"):
        assert name in out


def test_passphrases_are_asked_on_the_terminal(tmp_path):
    # keygen asks twice (confirmation), decrypt once; stdin is not used for the passphrase.
    code, output = run_in_terminal(
        [sys.executable, "-m", "meldpunt.cli", "keygen", "--x25519", "-o", str(tmp_path / "id.age")],
        [PASSPHRASE, PASSPHRASE],
    )
    assert code == 0, output
    recipient = output.decode().split("age1", 1)[1].split()[0]
    assert PASSPHRASE.encode() not in output  # not echoed
    meldpunt("encrypt", "-r", "age1" + recipient, "-o", str(tmp_path / "sealed"), input=b"typed", check=True)
    code, output = run_in_terminal(
        [
            sys.executable,
            "-m",
            "meldpunt.cli",
            "decrypt",
            "-i",
            str(tmp_path / "id.age"),
            "-o",
            str(tmp_path / "out"),
            str(tmp_path / "sealed"),
        ],
        [PASSPHRASE],
    )
    assert code == 0, output
    assert (tmp_path / "out").read_bytes() == b"typed"


def test_no_terminal_and_no_passphrase_file_is_a_clear_error(tmp_path):
    import subprocess

    result = subprocess.run(
        [sys.executable, "-m", "meldpunt.cli", "keygen", "-o", str(tmp_path / "id.age")],
        capture_output=True,
        timeout=60,
        cwd=ROOT,
        start_new_session=True,  # no controlling tty
    )
    assert failed_cleanly(result)
    assert b"--passphrase-file" in result.stderr
    assert not (tmp_path / "id.age").exists()

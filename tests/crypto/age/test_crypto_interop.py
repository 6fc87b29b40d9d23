"""Interoperability, both directions, with two independent age implementations:
Debian's `age` 1.1.1 (Go; X25519, scrypt, armor) and the npm `age-encryption` package
(TypeScript; X25519 and mlkem768x25519), both pinned by `make test`."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from crypto import age
from crypto.age import keys
from tests.clirun import ROOT, meldpunt, run_in_terminal

AGE = shutil.which("age")
AGE_KEYGEN = shutil.which("age-keygen")
NODE = shutil.which("node")
AGE_JS = ROOT / "tests" / "interop" / "age-js.mjs"
PASSPHRASE = "correct horse battery staple"

# Sizes around the 64 KiB chunk boundary and several chunks. The CLI handles one of them
# (CLI_SIZE) in every test; the others go through the same library in-process, to keep the
# suite fast (each CLI run costs a Python start-up).
SIZES = [0, 1, 65535, 65536, 65537, 3 * 65536 + 7]
CLI_SIZE = 2048


def age_keygen(tmp_path: Path) -> tuple[Path, str]:
    """An X25519 identity file from age-keygen (tmp_path/key), and its recipient."""
    key = tmp_path / "key"
    subprocess.run([AGE_KEYGEN, "-o", str(key)], check=True, capture_output=True, timeout=30)
    recipient = subprocess.run([AGE_KEYGEN, "-y", str(key)], check=True, capture_output=True, timeout=30)
    return key, recipient.stdout.decode().strip()


def seal(recipient: str, plaintext: bytes, armor: bool, *, cli: bool) -> bytes:
    if cli:
        return meldpunt("encrypt", "-r", recipient, *(["-a"] if armor else []), input=plaintext, check=True).stdout
    return age.encrypt(plaintext, [keys.parse_recipient(recipient)], armor=armor)


def open_(identity_file: Path, sealed: bytes, *, cli: bool) -> bytes:
    if cli:
        return meldpunt("decrypt", "-i", str(identity_file), input=sealed, check=True).stdout
    return age.decrypt(sealed, keys.load_identity_file(identity_file, lambda: PASSPHRASE))


def cases():
    return [(size, False) for size in SIZES] + [(CLI_SIZE, True)]


def test_tools_are_installed():
    # `make test-deps` installs them; a missing tool must fail, not skip.
    assert AGE and AGE_KEYGEN, "Debian package age is missing"
    assert NODE, "node is missing"
    assert (ROOT / "tests/interop/node_modules/age-encryption").is_dir(), "run make npm-deps"


def age_js(*args: str, input: bytes = b"") -> bytes:
    result = subprocess.run(
        [NODE, str(AGE_JS), *args], input=input, capture_output=True, timeout=60, cwd=ROOT / "tests" / "interop"
    )
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout


def age_js_batch(jobs: list[tuple[str, list[str], bytes]]) -> list[bytes]:
    """Runs many age-js operations in one node process."""
    import base64
    import json

    request = json.dumps(
        [{"op": op, "args": args, "data": base64.b64encode(data).decode()} for op, args, data in jobs]
    ).encode()
    return [base64.b64decode(r) for r in json.loads(age_js("batch", input=request))]


def run_age(*args: str, input: bytes = b"") -> bytes:
    result = subprocess.run([AGE, *args], input=input, capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout


@pytest.fixture(scope="module")
def ours(tmp_path_factory):
    """Our identities (plain files) for both types, and their recipients."""
    tmp = tmp_path_factory.mktemp("ours")
    keys = {}
    for kind in ("pq", "x25519"):
        path = tmp / kind
        recipient = meldpunt("keygen", f"--{kind}", "--no-passphrase", "-o", str(path), check=True)
        keys[kind] = (path, recipient.stdout.decode().strip())
    return keys


# Debian age ---------------------------------------------------------------------------------


@pytest.mark.parametrize("armor", [False, True])
def test_age_opens_our_x25519_files(ours, armor):
    path, recipient = ours["x25519"]
    for size, cli in cases():
        plaintext = os.urandom(size)
        sealed = seal(recipient, plaintext, armor, cli=cli)
        assert run_age("-d", "-i", str(path), input=sealed) == plaintext


@pytest.mark.parametrize("armor", [False, True])
def test_we_open_age_x25519_files(tmp_path, armor):
    key, recipient = age_keygen(tmp_path)
    for size, cli in cases():
        plaintext = os.urandom(size)
        sealed = run_age("-r", recipient, *(["-a"] if armor else []), input=plaintext)
        assert open_(key, sealed, cli=cli) == plaintext


def test_age_opens_our_passphrase_files_and_protected_identities(tmp_path):
    pw = tmp_path / "pw"
    pw.write_text(PASSPHRASE + "\n")
    sealed = tmp_path / "sealed.age"
    meldpunt(
        "encrypt", "-p", "--passphrase-file", str(pw), "-a", "-o", str(sealed), input=b"passphrase file", check=True
    )
    code, output = run_in_terminal([AGE, "-d", "-o", str(tmp_path / "out"), str(sealed)], [PASSPHRASE])
    assert code == 0, output
    assert (tmp_path / "out").read_bytes() == b"passphrase file"

    # A protected staff identity file is an age -p file: age itself can use it with -i.
    identity = tmp_path / "id.age"
    recipient = (
        meldpunt("keygen", "--x25519", "-o", str(identity), "--passphrase-file", str(pw), check=True)
        .stdout.decode()
        .strip()
    )
    sealed.write_bytes(meldpunt("encrypt", "-r", recipient, input=b"report", check=True).stdout)
    code, output = run_in_terminal(
        [AGE, "-d", "-i", str(identity), "-o", str(tmp_path / "out2"), str(sealed)], [PASSPHRASE]
    )
    assert code == 0, output
    assert (tmp_path / "out2").read_bytes() == b"report"


@pytest.mark.slow  # several seconds: in make test, not make check
def test_we_open_age_passphrase_files_and_age_protected_identities(tmp_path):
    pw = tmp_path / "pw"
    pw.write_text(PASSPHRASE + "\n")
    (tmp_path / "plain").write_bytes(b"from age -p")
    code, output = run_in_terminal(
        [AGE, "-p", "-o", str(tmp_path / "p.age"), str(tmp_path / "plain")], [PASSPHRASE, PASSPHRASE]
    )
    assert code == 0, output
    result = meldpunt("decrypt", "--passphrase-file", str(pw), str(tmp_path / "p.age"), check=True)
    assert result.stdout == b"from age -p"

    # An identity file protected with `age -p -a`, used with meldpunt decrypt -i.
    key, recipient = age_keygen(tmp_path)
    code, output = run_in_terminal(
        [AGE, "-p", "-a", "-o", str(tmp_path / "key.age"), str(key)], [PASSPHRASE, PASSPHRASE]
    )
    assert code == 0, output
    sealed = run_age("-r", recipient, input=b"report")
    result = meldpunt(
        "decrypt", "-i", str(tmp_path / "key.age"), "--passphrase-file", str(pw), input=sealed, check=True
    )
    assert result.stdout == b"report"


def test_age_refuses_what_we_refuse(ours):
    # A cross-check of failure: a byte flipped in the payload fails in both implementations.
    path, recipient = ours["x25519"]
    sealed = bytearray(meldpunt("encrypt", "-r", recipient, input=b"x" * 1000, check=True).stdout)
    sealed[-20] ^= 0x40
    assert (
        subprocess.run([AGE, "-d", "-i", str(path)], input=bytes(sealed), capture_output=True, timeout=30).returncode
        != 0
    )
    assert meldpunt("decrypt", "-i", str(path), input=bytes(sealed)).returncode == 1


# npm age-encryption -------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["pq", "x25519"])
@pytest.mark.parametrize("armor", [False, True])
def test_age_js_opens_our_files(ours, kind, armor):
    path, recipient = ours[kind]
    identity = [line for line in path.read_text().splitlines() if line.startswith("AGE-SECRET-KEY")][0]
    plaintexts = [os.urandom(size) for size, _ in cases()]
    sealed = [seal(recipient, p, armor, cli=cli) for p, (_, cli) in zip(plaintexts, cases(), strict=True)]
    args = ["--identity", identity, *(["--armor"] if armor else [])]
    assert age_js_batch([("decrypt", args, s) for s in sealed]) == plaintexts


@pytest.mark.parametrize("kind", ["pq", "x25519"])
@pytest.mark.parametrize("armor", [False, True])
def test_we_open_age_js_files(tmp_path, kind, armor):
    identity, recipient = age_js("keygen", kind).decode().split()
    assert recipient.startswith("age1pq1" if kind == "pq" else "age1")
    key = tmp_path / "key"
    key.write_text(identity + "\n")
    plaintexts = [os.urandom(size) for size, _ in cases()]
    args = ["--recipient", recipient, *(["--armor"] if armor else [])]
    sealed = age_js_batch([("encrypt", args, p) for p in plaintexts])
    for plaintext, data, (_, cli) in zip(plaintexts, sealed, cases(), strict=True):
        assert open_(key, data, cli=cli) == plaintext


def test_same_recipient_from_the_same_identity(ours):
    # Key derivation agrees: age-js computes our recipient from our identity string.
    for kind in ("pq", "x25519"):
        path, recipient = ours[kind]
        identity = [line for line in path.read_text().splitlines() if line.startswith("AGE-SECRET-KEY")][0]
        script = (
            f"import {{identityToRecipient}} from 'age-encryption';console.log(await identityToRecipient('{identity}'))"
        )
        result = subprocess.run(
            [NODE, "--input-type=module", "-e", script], capture_output=True, timeout=60, cwd=ROOT / "tests" / "interop"
        )
        assert result.stdout.decode().strip() == recipient


def test_passphrase_files_with_age_js(tmp_path):
    pw = tmp_path / "pw"
    pw.write_text(PASSPHRASE + "\n")
    sealed = age_js("encrypt", "--passphrase", PASSPHRASE, "--work-factor", "10", input=b"js scrypt")
    assert meldpunt("decrypt", "--passphrase-file", str(pw), input=sealed, check=True).stdout == b"js scrypt"
    ours = meldpunt("encrypt", "-p", "--passphrase-file", str(pw), input=b"our scrypt", check=True).stdout
    assert age_js("decrypt", "--passphrase", PASSPHRASE, input=ours) == b"our scrypt"

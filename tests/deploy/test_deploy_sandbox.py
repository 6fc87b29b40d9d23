"""The web server inside meldpunt.service's sandbox (tests/deploy/sandbox.py applies the unit's
settings with the kernel interfaces systemd uses): a report still goes in over the unix socket and
is stored, and nothing in the sandbox can reach any network address."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from crypto.age import keys
from tests.deploy.deploykit import stop_group
from tests.deploy.sandboxkit import NOBODY, PUBLIC, RECEIPT, TOKEN, UNIT, can_sandbox, request, sandboxed
from tests.harness import write_config

pytestmark = pytest.mark.skipif(not can_sandbox(), reason="needs root and network/mount namespaces (unshare)")


@pytest.fixture
def server(tmp_path):
    # run and run_https stand in for /run/meldpunt and /run/meldpunt-https (ReadWritePaths=).
    etc, state, run, run_https = tmp_path / "etc", tmp_path / "state", tmp_path / "run", tmp_path / "run-https"
    for d in (etc, state, run, run_https):
        d.mkdir()
    for d in (state, run, run_https):
        os.chown(d, NOBODY, NOBODY)
    os.chmod(tmp_path, 0o755)
    recipient = keys.generate("pq").recipient().encode()
    conf = write_config(
        etc / "meldpunt.toml",
        state,
        recipient,
        form_min_seconds=0,
        bind=f"unix:{run}/web.sock",
        https_bind=f"unix:{run_https}/https.sock",
        public_hosts=[PUBLIC],
        workers=2,
        threads=4,
    )
    conf.chmod(0o644)
    sock = str(run / "web.sock")
    log = tmp_path / "server.log"
    # Started the way `meldpunt serve` starts it (onion_service/tor/serve.py): through setpriv
    # --pdeathsig, whose capset() the unit's system-call filter must allow. (The whole of serve,
    # with a tor, runs in tests/deploy/test_deploy_onion.py.)
    proc = sandboxed(
        [
            shutil.which("setpriv"),
            "--pdeathsig",
            "TERM",
            "--",
            sys.executable,
            "-m",
            "meldpunt.cli",
            "serve",
            "--local-only",
            "--config",
            str(conf),
        ],
        rw=[state, run, run_https],
        ro=[etc],
        log=log,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                pytest.fail(f"the sandboxed server exited ({proc.returncode}): {log.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"the sandboxed server did not answer: {log.read_text()[-3000:]}")
            try:
                if request(sock, "GET", "/nl/")[0] == 200:
                    break
            except OSError:
                time.sleep(0.2)
        yield proc, sock, state, tmp_path
    finally:
        stop_group(proc, timeout=20)


def test_the_https_socket_takes_a_report_for_the_public_name_inside_the_sandbox(server):
    _, sock, state, tmp_path = server
    https_sock = str(tmp_path / "run-https" / "https.sock")
    assert request(https_sock, "GET", "/en/")[0] == 421  # loopback is tor's socket's, not this one's
    status, page = request(https_sock, "GET", "/en/", host=PUBLIC)
    token = TOKEN.search(page).group(1)
    body = (
        f"urls=http%3A%2F%2Fexample.org%2Fb&found_on=website&kinds=images&danger=no&homepage=&token={token}"
    ).encode()
    status, page = request(https_sock, "POST", "/en/", body, host=PUBLIC)
    assert status == 200 and RECEIPT.search(page), page[-2000:]
    assert request(sock, "GET", "/en/", host=PUBLIC)[0] == 421


def status_of(pid: int) -> dict[str, str]:
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    return dict(line.split(":\t", 1) for line in lines if ":\t" in line)


def test_a_report_is_received_and_stored_inside_the_sandbox(server):
    proc, sock, state, _ = server
    status, page = request(sock, "GET", "/en/")
    token = TOKEN.search(page).group(1)
    body = (
        f"urls=http%3A%2F%2Fexample.org%2Fa&found_on=website&kinds=images&danger=no&homepage=&token={token}"
    ).encode()
    status, page = request(sock, "POST", "/en/", body)
    assert status == 200 and RECEIPT.search(page), page[-2000:]

    # Stored, by the service's user, readable by it alone.
    db = state / "reports.sqlite3"
    assert db.stat().st_uid == NOBODY and db.stat().st_mode & 0o077 == 0
    from onion_service.store import open_store

    with open_store(f"sqlite:///{db}") as store:
        assert store.count() == 1

    # The server really runs confined: no capabilities, no way to gain any, a system-call filter.
    st = status_of(proc.pid)
    assert st["Uid"].split()[0] == str(NOBODY)
    assert st["NoNewPrivs"] == "1" and st["Seccomp"] == "2"
    assert int(st["CapEff"], 16) == 0 and int(st["CapBnd"], 16) == 0
    # Its network namespace is not ours.
    assert os.readlink(f"/proc/{proc.pid}/ns/net") != os.readlink("/proc/self/ns/net")


NETNS_PROBE = r"""
import errno, fcntl, json, os, socket, struct, sys
out = {"interfaces": sorted(name for _, name in socket.if_nameindex())}
with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:  # SIOCGIFFLAGS: is lo up here?
    flags = struct.unpack("16sH", fcntl.ioctl(s, 0x8913, struct.pack("16sH", b"lo", 0)))[1]
out["lo"] = "up" if flags & 1 else "down"
for name, addr in (("loopback", ("127.0.0.1", int(sys.argv[1]))), ("test-net", ("192.0.2.1", 80))):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(2)
    try:
        s.connect(addr)
        out[name] = "connected"
    except OSError as exc:
        out[name] = errno.errorcode.get(exc.errno, str(exc))
    finally:
        s.close()
print(json.dumps(out))
"""


def test_nothing_in_the_servers_network_namespace_can_connect_out(server):
    proc, *_ = server
    # A listener on our loopback: reachable from here, so the probe below could succeed if the
    # namespace were shared.
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            pass
        result = subprocess.run(
            ["nsenter", f"--net=/proc/{proc.pid}/ns/net", sys.executable, "-c", NETNS_PROBE, str(port)],
            capture_output=True,
            text=True,
            timeout=30,
        )
    finally:
        listener.close()
    assert result.returncode == 0, result.stderr
    import json

    seen = json.loads(result.stdout)
    assert seen["interfaces"] == ["lo"] and seen["lo"] == "down"
    assert seen["loopback"] == "ENETUNREACH"
    assert seen["test-net"] == "ENETUNREACH"


SANDBOX_PROBE = r"""
import ctypes, errno, json, mmap, socket
out = {}
for fam in ("AF_INET", "AF_INET6", "AF_NETLINK", "AF_PACKET"):
    try:
        socket.socket(getattr(socket, fam), socket.SOCK_RAW if fam == "AF_PACKET"
                      else socket.SOCK_STREAM if fam != "AF_NETLINK" else socket.SOCK_RAW).close()
        out[fam] = "created"
    except OSError as exc:
        out[fam] = errno.errorcode.get(exc.errno, str(exc))
socket.socket(socket.AF_UNIX, socket.SOCK_STREAM).close()
out["AF_UNIX"] = "created"
try:
    mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    out["wx"] = "mapped"
except OSError as exc:
    out["wx"] = errno.errorcode.get(exc.errno, str(exc))
for path in ("/etc/meldpunt-sandbox-test", "/work-test", "/var/lib/meldpunt-sandbox-test"):
    try:
        open(path, "w").close()
        out[path] = "written"
    except OSError as exc:
        out[path] = errno.errorcode.get(exc.errno, str(exc))
print(json.dumps(out))
"""


def test_the_sandbox_refuses_network_sockets_writable_code_and_writes_elsewhere(tmp_path):
    os.chmod(tmp_path, 0o755)
    log = tmp_path / "probe.log"
    proc = sandboxed([sys.executable, "-c", SANDBOX_PROBE], rw=[], ro=[], log=log)
    assert proc.wait(timeout=60) == 0, log.read_text()
    import json

    seen = json.loads(log.read_text().strip().splitlines()[-1])
    # RestrictAddressFamilies=AF_UNIX: no IP, netlink or packet socket can even be made.
    assert seen["AF_INET"] == seen["AF_INET6"] == seen["AF_NETLINK"] == seen["AF_PACKET"] == "EAFNOSUPPORT"
    assert seen["AF_UNIX"] == "created"
    # MemoryDenyWriteExecute=yes
    assert seen["wx"] in ("EACCES", "EPERM")
    # ProtectSystem=strict
    assert {seen[p] for p in ("/etc/meldpunt-sandbox-test", "/work-test", "/var/lib/meldpunt-sandbox-test")} == {
        "EROFS"
    }


TOR_PROBE = r"""
import errno, json, os, socket, sys
out = {}
key, control = sys.argv[1], sys.argv[2]
for name, action in (("key", lambda: open(key, "rb").read()),
                     ("key dir", lambda: os.listdir(os.path.dirname(key))),
                     ("system tor dir", lambda: os.listdir("/var/lib/tor")),
                     ("control", lambda: socket.socket(socket.AF_UNIX).connect(control))):
    try:
        action()
        out[name] = "allowed"
    except OSError as exc:
        out[name] = errno.errorcode.get(exc.errno, str(exc))
out["groups"] = os.getgroups()
print(json.dumps(out))
"""


def test_the_web_servers_sandbox_reaches_neither_the_onion_key_nor_tors_control_socket(server, tmp_path):
    """As tor keeps them (its directory 0700 and the key 0600, its own user; the control socket in a
    directory of its own), the web server's user in the unit's sandbox can open neither, and the
    unit gives it no group of tor's and hides tor's directories outright (InaccessiblePaths=)."""
    proc, *_ = server
    unit = UNIT.read_text()
    assert "SupplementaryGroups" not in unit and "debian-tor" not in unit.split("[Service]")[1].split("\n# ")[0]
    assert "InaccessiblePaths=-/var/lib/tor -/run/tor" in unit
    assert status_of(proc.pid)["Groups"].split() in ([], [str(NOBODY)])  # the running server: no group of tor's

    tor = tmp_path / "tor"  # stands in for /var/lib/tor and /run/tor: owned by "tor" (root here)
    (tor / "meldpunt").mkdir(parents=True, mode=0o700)
    key = tor / "meldpunt" / "hs_ed25519_secret_key"
    key.write_bytes(b"== ed25519v1-secret: type0 ==\0\0\0" + os.urandom(64))
    key.chmod(0o600)
    (tor / "run").mkdir(mode=0o700)
    control = socket.socket(socket.AF_UNIX)
    control.bind(str(tor / "run" / "control"))
    control.listen(1)
    os.chmod(tor, 0o755)
    try:
        # The same uid and sandbox as the web server; the stand-in tree made visible, read-only.
        log = tmp_path / "tor-probe.log"
        probe = sandboxed(
            [sys.executable, "-c", TOR_PROBE, str(key), str(tor / "run" / "control")], rw=[], ro=[tor], log=log
        )
        assert probe.wait(timeout=60) == 0, log.read_text()
    finally:
        control.close()
    import json

    seen = json.loads(log.read_text().strip().splitlines()[-1])
    assert seen["key"] == seen["key dir"] == "EACCES", seen
    assert seen["control"] == "EACCES", seen
    if os.path.isdir("/var/lib/tor"):
        assert seen["system tor dir"] == "EACCES", seen  # hidden by InaccessiblePaths= as well
    assert seen["groups"] in ([], [NOBODY])

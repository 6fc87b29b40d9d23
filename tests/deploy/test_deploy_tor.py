"""The system tor's configuration as install.sh leaves it: Debian's torrc and service defaults, the
%include line, and deploy/tor/meldpunt.conf. The real tor checks it and prints what it would run."""

from __future__ import annotations

import getpass
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.deploy.deploykit import DEPLOY

pytestmark = pytest.mark.skipif(
    shutil.which("tor") is None or not Path("/etc/tor/torrc").exists(), reason="needs Debian's tor (make test-deps)"
)

DEBIAN_DEFAULTS = "/usr/share/tor/tor-service-defaults-torrc"


def system_torrc(tmp_path: Path, dropin: str) -> list[str]:
    """tor's command line for Debian's torrc with meldpunt's drop-in included, in a private data dir."""
    torrc_d = tmp_path / "torrc.d"
    torrc_d.mkdir()
    (torrc_d / "meldpunt.conf").write_text(dropin)
    torrc = tmp_path / "torrc"
    torrc.write_text(Path("/etc/tor/torrc").read_text() + f"\n%include {torrc_d}/*.conf\n")
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    # Our own user instead of debian-tor, so that tor checks a data directory we may create.
    return [
        "tor",
        "--defaults-torrc",
        DEBIAN_DEFAULTS,
        "-f",
        str(torrc),
        "--DataDirectory",
        str(data),
        "--PidFile",
        str(data / "pid"),
        "--User",
        getpass.getuser(),
    ]


def test_tor_verifies_the_configuration(tmp_path):
    cmd = system_torrc(tmp_path, (DEPLOY / "tor/meldpunt.conf").read_text())
    result = subprocess.run([*cmd, "--verify-config"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "Configuration was valid" in result.stdout, result.stdout
    # Any warning but the one about running the test as root (the system tor switches to debian-tor).
    warnings = [line for line in result.stdout.splitlines() if "[warn]" in line and "running Tor as root" not in line]
    assert warnings == []


def test_tor_refuses_a_broken_dropin(tmp_path):
    # Shows that the drop-in is really read: a misspelt option makes the whole configuration fail.
    cmd = system_torrc(tmp_path, (DEPLOY / "tor/meldpunt.conf").read_text() + "SafeLoging 1\n")
    result = subprocess.run([*cmd, "--verify-config"], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0


def effective(tmp_path) -> dict[str, list[str]]:
    cmd = system_torrc(tmp_path, (DEPLOY / "tor/meldpunt.conf").read_text())
    result = subprocess.run([*cmd, "--dump-config", "full"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    options: dict[str, list[str]] = {}
    for line in result.stdout.splitlines():
        if line and not line[0].isdigit() and not line.startswith(("Nov", "[")) and " " in line:
            key, value = line.split(" ", 1)
            options.setdefault(key, []).append(value)
    return options


def test_effective_configuration_keeps_meldpunts_promises(tmp_path, staff):
    options = effective(tmp_path)
    # Nothing on the server can make connections through tor: Debian's two SOCKS ports are gone.
    assert options["SocksPort"] == ["0"]
    # No control interface at all: meldpunt does not need one, so nothing can reach one.
    assert options["ControlPort"] == ["0"]
    assert options.get("ControlSocket", [""]) in ([""], ["0"]), options["ControlSocket"]
    # Logs: syslog at notice level, scrubbed, never a file.
    assert options["SafeLogging"] == ["1"]
    assert options["Log"] == ["notice syslog"]
    assert not any("file" in value for value in options["Log"])
    # A client hosting one onion service: no relay, no exit.
    assert options["ORPort"] == ["0"] and options["ExitRelay"] == ["0"] and options["ClientOnly"] == ["1"]
    # The service, with its key in tor's own directory, circuit ids and the intro-level defences.
    assert options["HiddenServiceDir"] == ["/var/lib/tor/meldpunt/"]
    assert options["HiddenServicePort"] == ["80 unix:/run/meldpunt/web.sock"]
    assert options["HiddenServiceExportCircuitID"] == ["haproxy"]
    assert options["HiddenServiceEnableIntroDoSDefense"] == ["1"]
    assert options["HiddenServicePoWDefensesEnabled"] == ["1"]
    # The figures bench/system.py measured (bench/README.md), the same as meldpunt's [tor] defaults:
    # a queue rate the service sustains and which one machine's flood of new circuits did not
    # reach (at 5, the flood kept real reporters' introductions waiting behind its own).
    from onion_service.config import Tor, parse_config

    minimal = {"recipients": [staff.recipient], "data_dir": "/x", "hotline": {"name": "H"}}
    defaults = parse_config(minimal, base_dir=tmp_path)
    assert isinstance(defaults.tor, Tor)
    assert options["HiddenServicePoWQueueRate"] == ["25"] == [str(defaults.tor.pow_queue_rate)]
    assert options["HiddenServicePoWQueueBurst"] == ["250"] == [str(defaults.tor.pow_queue_burst)]
    assert options["HiddenServiceEnableIntroDoSRatePerSec"] == [str(defaults.tor.intro_dos_rate)]
    assert options["HiddenServiceEnableIntroDoSBurstPerSec"] == [str(defaults.tor.intro_dos_burst)]


def test_tor_has_the_proof_of_work_module():
    result = subprocess.run(["tor", "--list-modules"], capture_output=True, text=True, timeout=30)
    assert "pow: yes" in result.stdout


def test_tor_verifies_the_onionbalance_backend_configuration(tmp_path):
    # deploy/onionbalance/backend-tor.conf alone, as install.sh --backend leaves it, with its
    # HiddenServiceDir (and the ob_config naming the frontend) in the test's directory.
    hs = tmp_path / "hs"
    hs.mkdir(mode=0o700)
    (hs / "ob_config").write_text("MasterOnionAddress " + "a" * 56 + ".onion\n")
    backend = (DEPLOY / "onionbalance/backend-tor.conf").read_text().replace("/var/lib/tor/meldpunt-backend/", f"{hs}/")
    cmd = system_torrc(tmp_path, backend)
    result = subprocess.run([*cmd, "--verify-config"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "Configuration was valid" in result.stdout, result.stdout
    assert "OnionBalance: MasterOnionAddress" in result.stdout  # tor read the instance's ob_config
    warnings = [line for line in result.stdout.splitlines() if "[warn]" in line and "running Tor as root" not in line]
    assert warnings == []

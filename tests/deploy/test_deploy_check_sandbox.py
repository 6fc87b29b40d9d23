"""meldpunt-check inside meldpunt-check.service's sandbox (as nobody, tests/deploy/sandbox.py): it
names what is wrong in a deployed configuration, and refuses a key schedule without today."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from crypto.age import keys
from tests.deploy.deploykit import DEPLOY, ROOT
from tests.deploy.sandboxkit import NOBODY, PUBLIC, SANDBOX, can_sandbox

pytestmark = pytest.mark.skipif(not can_sandbox(), reason="needs root and network/mount namespaces (unshare)")


def _sandboxed_check(tmp_path, etc, text: str) -> tuple[int, str]:
    """meldpunt-check on `text` as meldpunt-check.service runs it (its sandbox, as nobody)."""
    conf = etc / "meldpunt.toml"
    conf.write_text(text)
    conf.chmod(0o644)
    log = tmp_path / "check.log"
    args = [
        sys.executable,
        str(SANDBOX),
        "--unit",
        str(DEPLOY / "systemd/meldpunt-check.service"),
        "--uid",
        str(NOBODY),
        "--gid",
        str(NOBODY),
        f"--ro={etc}",
        f"--ro={ROOT}",
        f"--ro={sys.base_prefix}",
        "--",
        sys.executable,
        "-I",
        str(DEPLOY / "meldpunt-check.py"),
        str(conf),
    ]
    with open(log, "wb") as out:
        rc = subprocess.run(args, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, timeout=60).returncode
    return rc, log.read_text()


_DEPLOYED_REST = (
    'data_dir = "/var/lib/meldpunt"\n[hotline]\nname = "T"\n'
    '[web]\nbind = "unix:/run/meldpunt/web.sock"\n[tor]\ncontrol = "torrc"\n'
)


def test_the_configuration_check_runs_in_its_own_sandbox_and_names_what_is_wrong(tmp_path):
    os.chmod(tmp_path, 0o755)
    etc = tmp_path / "etc"
    etc.mkdir()
    recipient = keys.generate("pq").recipient().encode()
    deployed = f'recipients = ["{recipient}"]\n' + _DEPLOYED_REST

    def check(text: str) -> tuple[int, str]:
        return _sandboxed_check(tmp_path, etc, text)

    rc, out = check(deployed)
    assert rc == 0, out
    assert "configuration OK (1 post-quantum staff recipient(s))" in out
    assert "onion-address is missing" in out  # tor not (yet) running is a warning, not a refusal
    assert recipient not in out  # keys and paths are named, values never

    rc, out = check(deployed.replace(recipient, "age1pq1…replace-with-your-staff-public-key…"))
    assert rc == 1 and "recipients[0] is not a valid age recipient" in out

    rc, out = check(
        deployed.replace('"unix:/run/meldpunt/web.sock"', '"127.0.0.1:8080"')
        .replace('"torrc"', '"unix:/run/tor/control"')
        .replace('"/var/lib/meldpunt"', '"/srv/meldpunt"')
    )
    assert rc == 1
    assert "web.bind must be a unix socket" in out and "tor.control must be" in out and "data_dir must be" in out

    # The HTTPS names need the proxy's own socket, in the directory install.sh --https-proxy makes.
    public = deployed.replace("[tor]", f'public_hosts = ["{PUBLIC}"]\n[tor]')
    rc, out = check(public)
    assert rc == 1 and "web.public_hosts is set but web.https_bind is not" in out
    rc, out = check(public.replace("[tor]", 'https_bind = "unix:/run/meldpunt-https/https.sock"\n[tor]'))
    assert rc == (0 if os.path.isdir("/run/meldpunt-https") else 1)
    assert "/run/meldpunt-https is missing" in out or rc == 0
    rc, out = check(public.replace("[tor]", 'https_bind = "unix:/run/meldpunt/https.sock"\n[tor]'))
    assert rc == 1 and "web.https_bind must be a unix socket in /run/meldpunt-https/" in out


def test_the_configuration_check_refuses_a_schedule_without_today_and_warns_before_its_end(tmp_path):
    import datetime

    from crypto.periods import keyring, schedule

    os.chmod(tmp_path, 0o755)
    etc = tmp_path / "etc"
    etc.mkdir()
    today = datetime.datetime.now(datetime.UTC).date()
    for name, start, count in (("ended", today - datetime.timedelta(days=40), 2), ("soon", today, 1)):
        _, sched, _ = keyring.generate(start, count, "week")
        (etc / f"{name}.schedule").write_text(schedule.format(sched))
        (etc / f"{name}.schedule").chmod(0o644)
    rc, out = _sandboxed_check(tmp_path, etc, f'schedules = ["{etc}/ended.schedule"]\n' + _DEPLOYED_REST)
    assert rc == 1 and f"has no period for {today.isoformat()}" in out, out
    rc, out = _sandboxed_check(tmp_path, etc, f'schedules = ["{etc}/soon.schedule"]\n' + _DEPLOYED_REST)
    assert rc == 0 and "warning: schedules: the key schedule runs out in 7 days" in out, out
    assert "configuration OK (1 staff key schedule(s))" in out

"""Helpers for the deploy tests: a throwaway root for install.sh, stand-ins for the system commands.

install.sh and uninstall.sh take MELDPUNT_ROOT=DIR and then put every file below DIR; the commands
that would change the machine itself (apt-get, useradd, chown, systemctl, ...) are still called,
and these tests put stand-ins first on PATH that only record their calls. The stand-ins for `tor
--verify-config`, `nginx -t` and `python3 -m venv` do real work: the first runs the real tor on the torrc
written into the throwaway root; the second makes a "virtual environment" whose python is the
project's own, so that the configuration check install.sh runs is the real one.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"

# name -> shell body; $LOG is the call log, $STATE a directory for the stand-ins' own state.
STUBS = {
    "apt-get": 'echo "apt-get $*" >> "$LOG"',
    # Every package is installed: a test machine has tor; apt-get must not be needed.
    "dpkg-query": 'echo "install ok installed"',
    "useradd": 'echo "useradd $*" >> "$LOG"; touch "$STATE/user-meldpunt"',
    "userdel": 'echo "userdel $*" >> "$LOG"; rm -f "$STATE/user-meldpunt"',
    "getent": (
        'echo "getent $*" >> "$LOG"\n'
        'case "$1:$2" in\n'
        '  passwd:meldpunt) [ -e "$STATE/user-meldpunt" ] &&'
        ' echo "meldpunt:x:999:999::/var/lib/meldpunt:/usr/sbin/nologin" ;;\n'
        '  group:debian-tor) echo "debian-tor:x:109:" ;;\n'
        '  *) exec /usr/bin/getent "$@" ;;\n'
        "esac"
    ),
    "chown": 'echo "chown $*" >> "$LOG"',
    "systemctl": 'echo "systemctl $*" >> "$LOG"',
    "systemd-tmpfiles": 'echo "systemd-tmpfiles $*" >> "$LOG"',
    # Runs the command as the caller (the test cannot switch to a user that does not exist).
    "setpriv": (
        'echo "setpriv $*" >> "$LOG"\n'
        'while [ $# -gt 0 ]; do case "$1" in --*) shift ;; *) break ;; esac; done\n'
        'exec "$@"'
    ),
    "tor": (
        'echo "tor $*" >> "$LOG"\n'
        'case " $* " in\n'
        '  *" --verify-config "*)\n'
        "    # The torrc install.sh wrote, its %include pointed into the throwaway root.\n"
        '    while [ $# -gt 0 ]; do [ "$1" = -f ] && torrc="$2"; shift; done\n'
        '    sed "s#^%include /etc/tor/torrc.d/#%include $STATE/torrc.d/#" "$torrc" > "$STATE/torrc"\n'
        # The drop-ins as written; a backend's instance directory (tor reads its ob_config) in the root.
        '    rm -rf "$STATE/torrc.d" && mkdir -p "$STATE/torrc.d"\n'
        '    for f in "$MELDPUNT_ROOT"/etc/tor/torrc.d/*; do [ -f "$f" ] || continue\n'
        '      sed "s#/var/lib/tor/meldpunt-backend/#$MELDPUNT_ROOT/var/lib/tor/meldpunt-backend/#" "$f"'
        ' > "$STATE/torrc.d/${f##*/}"; done\n'
        '    mkdir -p "$STATE/tor-data" && chmod 700 "$STATE/tor-data"\n'
        '    exec /usr/bin/tor --defaults-torrc /usr/share/tor/tor-service-defaults-torrc -f "$STATE/torrc" \\\n'
        '      --DataDirectory "$STATE/tor-data" --PidFile "$STATE/tor-data/pid" --User "$(id -un)"'
        " --verify-config ;;\n"
        '  *) exec /usr/bin/tor "$@" ;;\n'
        "esac"
    ),
    # `nginx -t`: the real nginx checks the site install.sh rendered (tests/deploy/nginxkit.py).
    "nginx": (
        'echo "nginx $*" >> "$LOG"\n'
        'case " $* " in\n'
        '  *" -t "*) exec "$REAL_PYTHON" "$NGINXKIT" check "$MELDPUNT_ROOT" "$STATE" ;;\n'
        '  *) echo "nginx: only -t in the tests" >&2; exit 2 ;;\n'
        "esac"
    ),
    # `python3 -m venv DIR`: a bin/ whose python is this project's, and a pip that only records.
    "python3": (
        'echo "python3 $*" >> "$LOG"\n'
        '[ "$1 $2" = "-m venv" ] || exec "$REAL_PYTHON" "$@"\n'
        'mkdir -p "$3/bin"\n'
        # Without -I, and this tree first on the path: the code under test, not the one the
        # project's virtual environment has installed (another checkout's, in a worktree).
        'printf "#!/bin/sh\\n[ \\"\\$1\\" = -I ] && shift\\nPYTHONPATH=%s exec %s \\"\\$@\\"\\n" "$TREE" "$REAL_PYTHON"'
        ' > "$3/bin/python"\n'
        'cp "$3/bin/python" "$3/bin/python3"\n'
        'printf "#!/bin/sh\\necho \\"pip \\$*\\" >> %s\\n" "$LOG" > "$3/bin/pip"\n'
        'printf "#!/bin/sh\\necho \\"pybabel \\$*\\" >> %s\\n" "$LOG" > "$3/bin/pybabel"\n'
        'chmod 755 "$3/bin/python" "$3/bin/python3" "$3/bin/pip" "$3/bin/pybabel"'
    ),
}


class Box:
    """A throwaway root with a Debian-like /etc/tor and AppArmor directory, and the stand-ins."""

    def __init__(self, base: Path) -> None:
        self.root = base / "root"
        self.stubs = base / "stubs"
        self.state = base / "state"
        self.log = base / "calls.log"
        for d in (self.root, self.stubs, self.state):
            d.mkdir()
        self.log.write_text("")
        (self.root / "etc/tor").mkdir(parents=True)
        shutil.copy("/etc/tor/torrc", self.root / "etc/tor/torrc")
        (self.root / "etc/apparmor.d/local").mkdir(parents=True)
        (self.root / "etc/apparmor.d/local/system_tor").write_text("")
        for name, body in STUBS.items():
            path = self.stubs / name
            path.write_text("#!/bin/sh\n" + body + "\n")
            path.chmod(0o755)

    def env(self) -> dict[str, str]:
        return {
            "PATH": f"{self.stubs}:/usr/sbin:/usr/bin:/sbin:/bin",
            "MELDPUNT_ROOT": str(self.root),
            "MELDPUNT_ADDRESS_WAIT": "1",
            "LOG": str(self.log),
            "STATE": str(self.state),
            "REAL_PYTHON": sys.executable,
            "TREE": str(ROOT),
            "NGINXKIT": str(Path(__file__).with_name("nginxkit.py")),
            "LC_ALL": "C.UTF-8",
        }

    def run(self, script: str, *args: str, check: bool = True, expect: int = 0) -> subprocess.CompletedProcess:
        """Runs a script of deploy/; with `check`, fails unless it exits with `expect` (install.sh
        exits 3 when it installed everything but did not start meldpunt)."""
        self.log.write_text("")
        result = subprocess.run(
            ["bash", str(DEPLOY / script), *args], env=self.env(), capture_output=True, text=True, timeout=120
        )
        if check and result.returncode != expect:
            raise AssertionError(f"{script} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
        return result

    def calls(self) -> list[str]:
        return self.log.read_text().splitlines()

    def snapshot(self) -> dict[str, tuple]:
        """Every path below the root with its type, mode, size, content hash and mtime."""
        out = {}
        for dirpath, dirnames, filenames in os.walk(self.root):
            for name in dirnames + filenames:
                path = Path(dirpath, name)
                st = path.lstat()
                digest = ""
                if path.is_symlink():
                    digest = os.readlink(path)
                elif path.is_file():
                    digest = hashlib.sha256(path.read_bytes()).hexdigest()
                out[str(path.relative_to(self.root))] = (st.st_mode, st.st_size, digest, st.st_mtime_ns)
        return out


def stop_group(proc: subprocess.Popen, *, timeout: float) -> None:
    """Ends a process started in its own group (start_new_session) and all it started: TERM, and
    KILL after `timeout` seconds."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

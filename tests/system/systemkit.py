"""The assembled service on one machine, as deploy/install.sh sets it up, for tests/system and
bench/system.py.

- deploy/install.sh --https-proxy into a throwaway root (tests/deploy/deploykit.py's Box);
- the private Tor network (devnet), whose service tor takes the HiddenService* lines of the drop-in
  install.sh wrote (HiddenServiceDir on web.sock with circuit ids, PoW, intro DoS defence), paths
  moved into the test's directory, as the system tor reads them from its torrc;
- Debian's nginx with the site install.sh rendered, moved onto a loopback port (nginxkit.py);
- `meldpunt serve --config` on the configuration install.sh wrote (its defaults kept, only the
  paths, keys and names a hotline fills in changed), `control = "torrc"`, with the status page on,
  inside meldpunt.service's sandbox when this machine can build it (tests/deploy/sandbox.py), with
  the onion address copied first as the unit's ExecStartPre= does.

Clients: OnionClient goes through the client tor's SOCKS port with a SOCKS username of its own (so
a circuit of its own); HttpsClient goes to nginx from a loopback address of its own (nginx's limits
count per address). Every client sends the canary User-Agent, and the HTTPS ones a canary
X-Forwarded-For, so that a file that kept either is found afterwards.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import requests

from tests.deploy.deploykit import Box
from tests.deploy.nginxkit import Nginx, https_request, make_certificate, on_loopback
from tests.formkit import form_body
from tests.harness import config_text, free_port

# Re-exported: the tests and bench/system.py call them as systemkit's.
from tests.system.reporting import file_report, look_up, prefill, receipt_of, report, slow_client, token_of  # noqa: F401

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]

NAME = "report.example.org"
CERT, KEY = "/etc/ssl/meldpunt/fullchain.pem", "/etc/ssl/meldpunt/privkey.pem"
ONION_LINE = re.compile(r"^onion: http://([a-z2-7]{56}\.onion)/$", re.M)
# What a client could leave behind: its User-Agent, a forwarded address, and tor's circuit ids as
# the PROXY line carries them (an IPv6 address in fc00:dead:beef:4dad::/64).
UA = f"Mozilla/5.0 (X11; Linux x86_64) system-canary-{secrets.token_hex(6)}"
XFF = f"198.51.100.{secrets.randbelow(200) + 20}"
CIRCUIT_PREFIX = "fc00:dead:beef:4dad"


def can_sandbox() -> bool:
    """As tests/deploy: root, and unshare able to make the namespaces."""
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return False
    return subprocess.run(["unshare", "--net", "--mount", "true"], capture_output=True).returncode == 0


def source_address(channel_index: int, i: int) -> str:
    """A loopback address of its own for HTTPS client `i` of group `channel_index` (127.88.x.y)."""
    return f"127.88.{channel_index}.{(i % 250) + 2}"


class System:
    """Everything, under `base`; `status_key` is a crypto.status.keys.SigningKey's public text."""

    def __init__(
        self,
        base: Path,
        recipient: str,
        status_key: str,
        *,
        database_url: str = "",
        sandbox: bool | None = None,
        workers: int | None = None,
        readable: tuple[Path, ...] = (),
        tor_overrides: dict[str, str] | None = None,
        limits_overrides: dict[str, int] | None = None,
    ) -> None:
        self.base = base
        self.tor_overrides = tor_overrides or {}  # drop-in settings replaced (bench/system.py --tor)
        self.limits_overrides = limits_overrides or {}  # [limits] replaced (bench/system.py --limit)
        self.readable = readable  # more directories the sandbox lets meldpunt read (PostgreSQL's socket)
        self.recipient, self.status_key, self.database_url = recipient, status_key, database_url
        self.sandbox = can_sandbox() if sandbox is None else sandbox
        self.workers = workers
        self.network = None
        self.nginx: Nginx | None = None
        self.proc: subprocess.Popen | None = None
        self.onion = ""
        self.starts = 0

    # --- assembly ---------------------------------------------------------------------------------

    def start(self) -> System:
        from devnet.private_network import PrivateNetwork

        os.chmod(self.base, 0o755)
        (self.base / "box").mkdir()
        self.box = Box(self.base / "box")
        (self.box.root / "etc/nginx/conf.d").mkdir(parents=True)
        make_certificate(self.box.root / CERT.lstrip("/"), self.box.root / KEY.lstrip("/"), [NAME])
        # Exit 3: installed, not started (the example configuration's placeholders are filled in below).
        self.box.run(
            "install.sh", "--no-start", "--https-proxy", NAME, "--https-cert", CERT, "--https-key", KEY, expect=3
        )

        # /var/lib/meldpunt, /run/meldpunt, /run/meldpunt-https and the logs, below base.
        self.state, self.run, self.run_https, self.logs = (self.base / n for n in ("state", "run", "run-https", "logs"))
        for d in (self.state, self.run, self.run_https, self.logs):
            d.mkdir(mode=0o755)
        if self.sandbox:
            from tests.deploy.test_deploy_sandbox import NOBODY

            for d in (self.state, self.run, self.run_https):
                os.chown(d, NOBODY, NOBODY)
        self.config_path = self.write_config()

        self.network = PrivateNetwork(self.base / "net")
        self.network.start()
        self.publish()
        self.start_meldpunt()
        self.start_nginx()
        self.wait_onion()
        return self

    def write_config(self) -> Path:
        """install.sh's meldpunt.toml with what a hotline fills in; every default kept."""
        raw = tomllib.loads((self.box.root / "etc/meldpunt/meldpunt.toml").read_text())
        raw["recipients"] = [self.recipient]
        raw["data_dir"] = str(self.state)
        raw["database_url"] = self.database_url
        assert raw["web"]["bind"] == "unix:/run/meldpunt/web.sock", raw["web"]
        raw["web"]["bind"] = f"unix:{self.run}/web.sock"
        raw["web"]["https_bind"] = f"unix:{self.run_https}/https.sock"
        raw["web"]["public_hosts"] = [NAME]
        if self.workers:
            raw["web"]["workers"] = self.workers
        raw["status"]["public_key"] = self.status_key
        raw.setdefault("limits", {}).update(self.limits_overrides)
        assert raw["tor"]["control"] == "torrc" and raw["tor"]["circuit_ids"] is True
        (self.base / "etc").mkdir(mode=0o755)
        path = self.base / "etc" / "meldpunt.toml"
        path.write_text(config_text(raw))
        path.chmod(0o644)
        return path

    @property
    def defaults(self) -> dict:
        return tomllib.loads(self.config_path.read_text())

    def publish(self) -> None:
        """The drop-in's HiddenService* lines on the service tor, as the system tor reads them."""
        self.hs_dir = self.base / "tor-hs"
        self.hs_dir.mkdir(mode=0o700)
        dropin = (self.box.root / "etc/tor/torrc.d/meldpunt.conf").read_text()
        options = []
        for line in dropin.splitlines():
            if line.startswith("HiddenService"):
                key, value = line.split(" ", 1)
                value = value.replace("/var/lib/tor/meldpunt/", f"{self.hs_dir}/")
                value = value.replace("/run/meldpunt/", f"{self.run}/")
                options.append((key, self.tor_overrides.get(key, value)))
        self.tor_options = dict(options)
        self.network.nodes["hs"].controller.set_options(options)
        deadline = time.monotonic() + 30
        while not (self.hs_dir / "hostname").exists():
            if time.monotonic() > deadline:
                raise RuntimeError("the service tor wrote no hostname")
            time.sleep(0.1)
        self.onion = (self.hs_dir / "hostname").read_text().strip()

    def start_meldpunt(self) -> None:
        # The unit's ExecStartPre=: the onion address, for the Host check.
        (self.state / "onion-address").write_text(self.onion + "\n")
        self.starts += 1
        self.log = self.logs / f"serve-{self.starts}.log"
        meldpunt = Path(sys.executable).with_name("meldpunt")
        cmd = [str(meldpunt), "serve", "--config", str(self.config_path)]
        if self.sandbox:
            from tests.deploy.test_deploy_sandbox import NOBODY, sandboxed

            os.chown(self.state / "onion-address", NOBODY, NOBODY)
            self.proc = sandboxed(
                cmd, rw=[self.state, self.run, self.run_https], ro=[self.base / "etc", *self.readable], log=self.log
            )
        else:
            with open(self.log, "wb") as out:
                self.proc = subprocess.Popen(
                    cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
                )
        deadline = time.monotonic() + 90
        while not ONION_LINE.search(self.log.read_text(errors="replace")):
            if self.proc.poll() is not None:
                raise RuntimeError(f"serve exited ({self.proc.returncode}): {self.log.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"serve did not start: {self.log.read_text()[-3000:]}")
            time.sleep(0.1)

    def stop_meldpunt(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)  # systemctl stop: SIGTERM to the unit's processes
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def restart(self) -> float:
        """systemctl restart meldpunt; the seconds until both channels answer again."""
        started = time.monotonic()
        self.stop_meldpunt()
        self.start_meldpunt()
        self.wait_onion()
        return time.monotonic() - started

    def start_nginx(self) -> None:
        rendered = (self.box.root / "etc/nginx/conf.d/meldpunt.conf").read_text()
        self.https_port = free_port()
        site = on_loopback(
            rendered,
            https_port=self.https_port,
            http_port=free_port(),
            socket_path=self.run_https / "https.sock",
            log_dir=self.base / "nginx" / "log",
            root=self.box.root,
        )
        self.nginx = Nginx(self.base / "nginx", site, https_port=self.https_port)
        checked = self.nginx.test()
        if checked.returncode != 0:
            raise RuntimeError(checked.stderr)
        self.nginx.start()

    def wait_onion(self, within: float = 90) -> None:
        deadline = time.monotonic() + within
        while True:
            try:
                status, _ = OnionClient(self).get("/en/", timeout=20)
                if status == 200 and HttpsClient(self, "127.88.250.2").get("/en/")[0] == 200:
                    return
            except (requests.RequestException, OSError):
                pass  # not yet: the descriptor, or the server after a restart
            if time.monotonic() > deadline:
                raise RuntimeError("the onion did not answer in time")
            time.sleep(1)

    def stop(self) -> None:
        self.stop_meldpunt()
        if self.nginx is not None:
            self.nginx.stop()
        if self.network is not None:
            self.network.stop()

    # --- afterwards -------------------------------------------------------------------------------

    def files(self) -> list[Path]:
        """Every file the service, nginx and install.sh wrote or hold (not the Tor network's own)."""
        out = []
        for top in (self.box.root, self.state, self.run, self.run_https, self.logs, self.base / "nginx"):
            out += [p for p in top.rglob("*") if p.is_file() and not p.is_symlink()]
        return out

    def opened(self, staff) -> list:
        from onion_service.config import load_config
        from onion_service.store import open_store

        with open_store(load_config(self.config_path).database_url) as store:
            return [staff.open(row.sealed) for row in store.pending()]


# --- clients ----------------------------------------------------------------------------------------


class OnionClient:
    """One Tor circuit (a SOCKS username of its own) to the onion service."""

    def __init__(self, system: System, user: str | None = None, *, socks_port: int | None = None) -> None:
        self.base = f"http://{system.onion}"
        self.socks_port = socks_port or system.network.socks_port
        self.session = requests.Session()
        proxy = f"socks5h://{user or secrets.token_hex(8)}:x@127.0.0.1:{self.socks_port}"
        self.session.proxies = {"http": proxy, "https": proxy}
        self.session.headers["User-Agent"] = UA

    def get(self, path: str, timeout: float = 60) -> tuple[int, str]:
        r = self.session.get(self.base + path, timeout=timeout)
        return r.status_code, r.text

    def post(self, path: str, fields: dict, timeout: float = 60) -> tuple[int, str]:
        r = self.session.post(self.base + path, data=fields, timeout=timeout)
        return r.status_code, r.text

    def raw_socket(self, timeout: float = 60) -> socket.socket:
        """A bare connection to port 80 of the onion (for slow clients)."""
        import socks

        s = socks.socksocket()
        s.set_proxy(socks.SOCKS5, "127.0.0.1", self.socks_port, rdns=True, username=secrets.token_hex(8), password="x")
        s.settimeout(timeout)
        s.connect((self.base.removeprefix("http://"), 80))
        return s


class HttpsClient:
    """Through nginx over TLS, from the loopback address `source`."""

    def __init__(self, system: System, source: str) -> None:
        self.port, self.source = system.https_port, source

    def _do(self, method: str, path: str, body: bytes | None, timeout: float) -> tuple[int, str]:
        headers = {"User-Agent": UA, "X-Forwarded-For": XFF}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        status, _, data = https_request(
            self.port,
            sni=NAME,
            host=NAME,
            method=method,
            path=path,
            body=body,
            headers=headers,
            source=self.source,
            timeout=timeout,
        )
        return status, data.decode("utf-8", "replace")

    def get(self, path: str, timeout: float = 60) -> tuple[int, str]:
        return self._do("GET", path, None, timeout)

    def post(self, path: str, fields: dict, timeout: float = 60) -> tuple[int, str]:
        return self._do("POST", path, form_body(fields), timeout)

    def raw_socket(self, timeout: float = 60) -> socket.socket:
        import ssl

        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        raw = socket.create_connection(("127.0.0.1", self.port), timeout=timeout, source_address=(self.source, 0))
        return context.wrap_socket(raw, server_hostname=NAME)

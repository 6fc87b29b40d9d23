"""Certificates that renew (issue 29, item 3): the names' port 80 serves certbot's webroot
challenges (and redirects everything else), a certificate renewed at the same path makes the
next install.sh run reload nginx, and certbot's webroot mode with Debian's ACME test server
(pebble) issues and renews a certificate that nginx loads without a hand step. All on loopback."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import time
from pathlib import Path

import pytest
from cryptography import x509

from tests.deploy.deploykit import Box
from tests.deploy.nginxkit import Nginx, make_certificate, on_loopback
from tests.harness import free_port

pytestmark = pytest.mark.skipif(
    shutil.which("tor") is None or not Path("/usr/sbin/nginx").exists(),
    reason="needs Debian's tor and nginx (make test-deps)",
)

NAME = "report.example.org"
LIVE = f"/etc/letsencrypt/live/{NAME}"
CERT, KEY = f"{LIVE}/fullchain.pem", f"{LIVE}/privkey.pem"
ARGS = ("--no-start", "--https-proxy", NAME, "--https-cert", CERT, "--https-key", KEY)


def get(port: int, host: str, path: str) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers={"Host": host})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def _site(box: Box, tmp_path: Path, https_port: int, http_port: int) -> str:
    """The installed site, as nginx runs it on loopback in the test."""
    return on_loopback(
        (box.root / "etc/nginx/conf.d/meldpunt.conf").read_text(),
        https_port=https_port,
        http_port=http_port,
        socket_path=tmp_path / "https.sock",
        log_dir=tmp_path / "log",
        root=box.root,
    )


def test_port_80_serves_acme_challenges_from_the_webroot_and_redirects_the_rest(tmp_path: Path):
    (tmp_path / "box").mkdir()
    box = Box(tmp_path / "box")
    (box.root / "etc/nginx/conf.d").mkdir(parents=True)
    make_certificate(box.root / CERT.lstrip("/"), box.root / KEY.lstrip("/"), [NAME])
    box.run("install.sh", *ARGS, expect=3)
    webroot = box.root / "var/www/meldpunt-acme"
    assert webroot.is_dir() and oct(webroot.stat().st_mode)[-3:] == "755"

    # What certbot --webroot -w /var/www/meldpunt-acme writes for one challenge.
    challenge = webroot / ".well-known/acme-challenge"
    challenge.mkdir(parents=True)
    (challenge / "tok3n_-A").write_text("tok3n_-A.thumbprint")

    (tmp_path / "log").mkdir()
    https_port, http_port = free_port(), free_port()
    site = _site(box, tmp_path, https_port, http_port)
    nginx = Nginx(tmp_path / "nginx", site, https_port=https_port).start()
    try:
        status, headers, body = get(http_port, NAME, "/.well-known/acme-challenge/tok3n_-A")
        assert (status, body) == (200, b"tok3n_-A.thumbprint")
        assert headers["content-type"] == "text/plain"
        assert get(http_port, NAME, "/.well-known/acme-challenge/missing")[0] == 404
        assert get(http_port, NAME, "/.well-known/acme-challenge/../../../etc/passwd")[0] in (400, 404)
        status, headers, _ = get(http_port, NAME, "/nl/?x=1")
        assert status == 301 and headers["location"] == f"https://{NAME}/nl/?x=1"
        # Another name gets no challenge answered, and no redirect.
        assert get(http_port, "other.example.org", "/.well-known/acme-challenge/tok3n_-A")[0] == 421
    finally:
        nginx.stop()

    # Renewed at the same path (certbot's live/ link to a new file): the next run reloads nginx.
    box.run("install.sh", *ARGS, expect=3)
    assert not any(c.startswith("systemctl reload") for c in box.calls())
    make_certificate(box.root / CERT.lstrip("/"), box.root / KEY.lstrip("/"), [NAME])
    box.run("install.sh", *ARGS, expect=3)
    assert "systemctl reload-or-restart nginx.service" in box.calls()

    box.run("uninstall.sh")
    assert not (box.root / "var/www").exists()


# --- issued and renewed by an ACME server, end to end ---------------------------------------------


def served_certificate(port: int) -> x509.Certificate:
    """The certificate nginx presents for NAME (not verified: only which one it is matters)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname=NAME) as tls:
            return x509.load_der_x509_certificate(tls.getpeercert(binary_form=True))


def wait_for(predicate, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)  # poll interval
    return predicate()


@pytest.mark.slow  # several seconds: two ACME orders, each validated over HTTP, and two certbot runs
@pytest.mark.skipif(
    not (shutil.which("pebble") and shutil.which("pebble-challtestsrv") and shutil.which("certbot")),
    reason="needs Debian's pebble and certbot (make test-deps)",
)
def test_certbot_issues_and_renews_through_the_webroot_and_nginx_loads_it_unaided(tmp_path: Path):
    (tmp_path / "box").mkdir()
    box = Box(tmp_path / "box")
    (box.root / "etc/nginx/conf.d").mkdir(parents=True)
    # The first run, before any certificate: a self-signed stand-in (Debian's ssl-cert snakeoil).
    first_cert, first_key = "/etc/ssl/certs/ssl-cert-snakeoil.pem", "/etc/ssl/private/ssl-cert-snakeoil.key"
    (box.root / first_key.lstrip("/")).parent.mkdir(parents=True)
    make_certificate(box.root / first_cert.lstrip("/"), box.root / first_key.lstrip("/"), ["snakeoil"])
    box.run(
        "install.sh",
        "--no-start",
        "--https-proxy",
        NAME,
        "--https-cert",
        first_cert,
        "--https-key",
        first_key,
        expect=3,
    )

    (tmp_path / "log").mkdir()
    https_port, http_port = free_port(), free_port()

    def site() -> str:
        return _site(box, tmp_path, https_port, http_port)

    nginx = Nginx(tmp_path / "nginx", site(), https_port=https_port).start()
    procs: list[subprocess.Popen] = []
    try:
        # The ACME server, validating http-01 on nginx's port 80 (here: http_port), with names
        # resolved by its companion DNS server to 127.0.0.1.
        dns_port, mgmt_port, acme_port, acme_mgmt = free_port(), free_port(), free_port(), free_port()
        procs.append(
            subprocess.Popen(
                [
                    "pebble-challtestsrv",
                    "-dns01",
                    f"127.0.0.1:{dns_port}",
                    "-http01",
                    "",
                    "-https01",
                    "",
                    "-tlsalpn01",
                    "",
                    "-management",
                    f"127.0.0.1:{mgmt_port}",
                    "-defaultIPv6",
                    "",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        acme_tls = tmp_path / "acme-tls"
        make_certificate(acme_tls / "cert.pem", acme_tls / "key.pem", ["localhost"])
        config = tmp_path / "pebble.json"
        config.write_text(
            json.dumps(
                {
                    "pebble": {
                        "listenAddress": f"127.0.0.1:{acme_port}",
                        "managementListenAddress": f"127.0.0.1:{acme_mgmt}",
                        "certificate": str(acme_tls / "cert.pem"),
                        "privateKey": str(acme_tls / "key.pem"),
                        "httpPort": http_port,
                        "tlsPort": free_port(),
                        "ocspResponderURL": "",
                        "externalAccountBindingRequired": False,
                    }
                }
            )
        )
        env = {**os.environ, "PEBBLE_VA_NOSLEEP": "1", "PEBBLE_WFE_NONCEREJECT": "0", "PEBBLE_AUTHZREUSE": "0"}
        procs.append(
            subprocess.Popen(
                ["pebble", "-config", str(config), "-dnsserver", f"127.0.0.1:{dns_port}"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        assert wait_for(lambda: _listening(acme_port)), "pebble did not start"

        # certbot as deploy/README.md runs it, its directories in the throwaway root; the deploy
        # hook reloads this nginx as `systemctl reload nginx` would the system's.
        letsencrypt = box.root / "etc/letsencrypt"
        certbot = [
            "certbot",
            "--non-interactive",
            "--config-dir",
            str(letsencrypt),
            "--work-dir",
            str(tmp_path / "certbot-work"),
            "--logs-dir",
            str(tmp_path / "certbot-logs"),
            "--no-verify-ssl",
            "--server",
            f"https://127.0.0.1:{acme_port}/dir",
        ]
        hook = f"kill -HUP {nginx.proc.pid}"

        def served(cert: x509.Certificate) -> bool:
            # Three connections in a row: an old worker may take one more just after a reload.
            return all(served_certificate(https_port).serial_number == cert.serial_number for _ in range(3))

        issued = subprocess.run(
            [
                *certbot,
                "certonly",
                "--agree-tos",
                "--register-unsafely-without-email",
                "--webroot",
                "-w",
                str(box.root / "var/www/meldpunt-acme"),
                "-d",
                NAME,
                "--deploy-hook",
                hook,
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert issued.returncode == 0, issued.stdout + issued.stderr

        # The second install.sh run of deploy/README.md: the live/ paths.
        box.run("install.sh", *ARGS, expect=3)
        assert "systemctl reload-or-restart nginx.service" in box.calls()
        (nginx.prefix / "conf/meldpunt.conf").write_text(site())
        os.kill(nginx.proc.pid, signal.SIGHUP)
        live = x509.load_pem_x509_certificate((letsencrypt / "live" / NAME / "cert.pem").read_bytes())
        assert "Pebble" in live.issuer.rfc4514_string()
        assert wait_for(lambda: served(live))

        # Renewal, as certbot.timer runs it: no hand step, nginx serves the new certificate.
        renewed = subprocess.run(
            [*certbot, "renew", "--force-renewal", "--no-random-sleep-on-renew"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert renewed.returncode == 0, renewed.stdout + renewed.stderr
        new = x509.load_pem_x509_certificate((letsencrypt / "live" / NAME / "cert.pem").read_bytes())
        assert new.serial_number != live.serial_number
        assert wait_for(lambda: served(new))
        assert not any(webroot_file.is_file() for webroot_file in (box.root / "var/www/meldpunt-acme").rglob("*")), (
            "certbot leaves no challenge file behind"
        )
    finally:
        nginx.stop()
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=10)


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False

"""Certificates that renew (issue 29, item 3): the names' port 80 serves certbot's webroot
challenges (and redirects everything else), and a certificate renewed at the same path makes the
next install.sh run reload nginx. With the real nginx on loopback; an ACME server (pebble) is not
in the test."""

from __future__ import annotations

import http.client
import shutil
from pathlib import Path

import pytest
from deploykit import Box
from harness import free_port
from nginxkit import Nginx, make_certificate, on_loopback

pytestmark = pytest.mark.skipif(shutil.which("tor") is None or not Path("/usr/sbin/nginx").exists(),
                                reason="needs Debian's tor and nginx (make test-deps)")

NAME = "report.example.org"
CERT, KEY = "/etc/letsencrypt/live/report.example.org/fullchain.pem", "/etc/letsencrypt/live/report.example.org/privkey.pem"
ARGS = ("--no-start", "--https-proxy", NAME, "--https-cert", CERT, "--https-key", KEY)


def get(port: int, host: str, path: str) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers={"Host": host})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


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
    site = on_loopback((box.root / "etc/nginx/conf.d/meldpunt.conf").read_text(), https_port=https_port,
                       http_port=http_port, socket_path=tmp_path / "https.sock", log_dir=tmp_path / "log",
                       root=box.root)
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

"""deploy/install.sh --https-proxy: the site it renders for Debian's nginx (nginx -t accepts it, a
second run changes nothing, uninstall.sh removes it), and what it refuses to render."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.deploy.deploykit import ROOT
from tests.deploy.routekit import CERT, KEY, NAMES, boxed, install_with_proxy

pytestmark = pytest.mark.skipif(not Path("/usr/sbin/nginx").exists(), reason="needs Debian's nginx (make test-deps)")


def test_install_renders_a_site_nginx_accepts_and_uninstall_removes_it(tmp_path):
    box = boxed(tmp_path)
    (box.root / "etc/nginx/sites-available").mkdir()
    (box.root / "etc/nginx/sites-available/default").write_text("# Debian's default site\n")
    (box.root / "etc/nginx/sites-enabled").mkdir()
    (box.root / "etc/nginx/sites-enabled/default").symlink_to("/etc/nginx/sites-available/default")
    before = box.snapshot()

    first = install_with_proxy(box)
    assert "nginx -t -q" in box.calls(), "install.sh must have nginx check the site"
    assert "systemctl reload-or-restart nginx.service" in box.calls()
    # The configuration's public_hosts is still empty: install.sh says so, and changes nothing in it.
    assert "does not list report.example.org, www.report.example.org" in first.stderr
    site = (box.root / "etc/nginx/conf.d/meldpunt.conf").read_text()
    assert "server_name report.example.org www.report.example.org;" in site and not re.search(r"@[A-Z_]+@", site)
    assert f"ssl_certificate {CERT};" in site and f"ssl_certificate_key {KEY};" in site
    assert not (box.root / "etc/nginx/sites-enabled/default").exists()
    # nginx gets a socket directory of its own; tor's stays closed to it (no ACL on /run/meldpunt).
    assert (box.root / "etc/tmpfiles.d/meldpunt-https.conf").read_text().splitlines()[
        -1
    ] == "d /run/meldpunt-https 0750 meldpunt www-data -"
    assert "upstream meldpunt_web {" in site and "server unix:/run/meldpunt-https/https.sock;" in site
    assert "unix:/run/meldpunt/" not in site  # tor's socket (a comment may name it)
    assert "web.https_bind in the configuration is not" in first.stderr
    page = box.root / "usr/local/share/meldpunt/nginx/meldpunt-busy.html"
    assert page.read_bytes() == (ROOT / "deploy/nginx/busy.html").read_bytes()

    snapshot = box.snapshot()
    install_with_proxy(box)
    assert box.snapshot() == snapshot, "a second run must change nothing"
    assert not any(c.startswith("systemctl reload") for c in box.calls())

    box.run("uninstall.sh")
    after = box.snapshot()
    assert not [p for p in after if "nginx" in p and p not in before]
    assert (box.root / "etc/nginx/sites-enabled/default").is_symlink()
    assert "systemctl reload nginx.service" in box.calls()


def test_install_refuses_what_nginx_would_not_take(tmp_path):
    box = boxed(tmp_path)
    for args, words in [
        (["--https-proxy", "report.example.org"], "goes with --https-cert"),
        (["--https-proxy", "Report.example.org", "--https-cert", CERT, "--https-key", KEY], "lower case"),
        (["--https-proxy", "x.onion", "--https-cert", CERT, "--https-key", KEY], "DNS name"),
        (["--https-proxy", "report.example.org", "--https-cert", "/etc/x;y", "--https-key", KEY], "no spaces"),
    ]:
        result = box.run("install.sh", "--no-start", *args, check=False)
        assert result.returncode == 2 and words in result.stderr, (args, result.stderr)
    # A certificate nginx cannot load: nginx -t fails, and nginx is not reloaded.
    (box.root / KEY.lstrip("/")).write_text("not a key\n")
    result = box.run(
        "install.sh", "--no-start", "--https-proxy", NAMES[0], "--https-cert", CERT, "--https-key", KEY, check=False
    )
    assert result.returncode != 0 and "nginx does not accept" in result.stderr
    assert not any(c.startswith("systemctl reload") for c in box.calls())

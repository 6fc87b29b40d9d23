"""Debian's nginx for the tests: a throwaway certificate, the main configuration as Debian 12 ships
it (with its prefix, logs and temp paths moved into a directory of the test's), the site that
deploy/install.sh rendered moved onto loopback ports, and nginx as a child process.

Run as a script, `nginxkit.py check ROOT STATE` is what the `nginx` stand-in of deploykit.py calls for
`nginx -t`: the real nginx checks the site install.sh wrote below ROOT.
"""

from __future__ import annotations

import datetime
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

NGINX = "/usr/sbin/nginx"
HEADERS_MORE = "/usr/lib/nginx/modules/ngx_http_headers_more_filter_module.so"


def make_certificate(cert: Path, key: Path, names: list[str]) -> None:
    """A self-signed certificate for `names`, valid for a day (the hotline's, in the tests)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    private = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
        .sign(private, hashes.SHA256())
    )
    cert.parent.mkdir(parents=True, exist_ok=True)
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    key.chmod(0o600)


def main_conf(prefix: Path, site: Path) -> str:
    """Debian 12's /etc/nginx/nginx.conf with its paths moved below `prefix` and `site` as the one
    file conf.d holds. Its main-level error log stays at Debian's level (error), and its http block
    keeps what the site must override (access_log, gzip, ssl_protocols)."""
    # As root, workers would otherwise run as nobody, who cannot enter the test's directories.
    user = "user root root;\n" if os.geteuid() == 0 else ""
    tmp = prefix / "tmp"
    return f"""{user}worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/log/error.log;
load_module {HEADERS_MORE};
events {{
    worker_connections 768;
}}
http {{
    sendfile on;
    tcp_nopush on;
    types_hash_max_size 2048;
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3;
    ssl_prefer_server_ciphers on;
    access_log {prefix}/log/access.log;
    gzip on;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    include {site};
}}
"""


def on_loopback(rendered: str, *, https_port: int, http_port: int, socket_path: Path, log_dir: Path, root: Path) -> str:
    """The site install.sh rendered, listening on 127.0.0.1 ports instead of every address's 443 and
    80, reaching meldpunt at `socket_path` (its https.sock), logging into `log_dir`, reading /etc
    and its refusal page below `root`."""
    out = []
    for line in rendered.splitlines():
        if re.match(r"\s*listen \[::\]:", line):
            continue
        line = re.sub(r"listen 443\b", f"listen 127.0.0.1:{https_port}", line)
        line = re.sub(r"listen 80\b", f"listen 127.0.0.1:{http_port}", line)
        out.append(line)
    text = "\n".join(out) + "\n"
    assert text.count("listen 127.0.0.1:") == 4, "deploy/nginx/meldpunt.conf: four servers expected"
    assert "unix:/run/meldpunt/" not in text, "nginx must never reach tor's socket"
    text = text.replace("unix:/run/meldpunt-https/https.sock", f"unix:{socket_path}")
    text = text.replace("root /usr/local/share/meldpunt/", f"root {root}/usr/local/share/meldpunt/")
    text = text.replace("root /var/www/meldpunt-acme;", f"root {root}/var/www/meldpunt-acme;")
    text = text.replace("/var/log/nginx/", f"{log_dir}/")
    return re.sub(r"(ssl_certificate(?:_key)?) /etc/", rf"\1 {root}/etc/", text)


class Nginx:
    """nginx in the foreground as a child process, with everything it writes below `prefix`."""

    def __init__(self, prefix: Path, site_text: str, *, https_port: int) -> None:
        self.prefix = prefix
        self.https_port = https_port
        for d in ("log", "tmp", "conf"):
            (prefix / d).mkdir(parents=True, exist_ok=True)
        site = prefix / "conf" / "meldpunt.conf"
        site.write_text(site_text)
        self.conf = prefix / "conf" / "nginx.conf"
        self.conf.write_text(main_conf(prefix, site))
        self.proc: subprocess.Popen | None = None

    def test(self) -> subprocess.CompletedProcess:
        return subprocess.run(
            [NGINX, "-t", "-p", str(self.prefix), "-c", str(self.conf)], capture_output=True, text=True, timeout=30
        )

    def start(self, timeout: float = 15) -> Nginx:
        with open(self.prefix / "log" / "stderr", "ab") as err:
            self.proc = subprocess.Popen(
                [NGINX, "-p", str(self.prefix), "-c", str(self.conf), "-g", "daemon off;"],
                stdin=subprocess.DEVNULL,
                stdout=err,
                stderr=err,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited: {(self.prefix / 'log' / 'stderr').read_text()[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", self.https_port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.05)  # poll interval
        raise RuntimeError("nginx did not listen in time")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGQUIT)  # graceful: the workers finish and exit
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)


def https_request(
    port: int,
    *,
    sni: str,
    host: str | None,
    method: str = "GET",
    path: str = "/",
    body: bytes | None = None,
    headers: dict | None = None,
    source: str = "127.0.0.1",
    timeout: float = 20,
) -> tuple[int, dict[str, str], bytes]:
    """One request over TLS to 127.0.0.1:`port` from address `source`, with SNI `sni` and Host `host`."""
    import http.client

    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE

    class Connection(http.client.HTTPSConnection):
        def connect(self) -> None:
            raw = socket.create_connection(("127.0.0.1", port), timeout=timeout, source_address=(source, 0))
            self.sock = context.wrap_socket(raw, server_hostname=sni)

    conn = Connection(sni, port, timeout=timeout, context=context)
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        if host is not None:
            conn.putheader("Host", host)
        for k, v in (headers or {}).items():
            conn.putheader(k, v)
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def check(root: Path, state: Path) -> int:
    """`nginx -t` on the site install.sh wrote below `root`, in Debian's main configuration."""
    prefix = state / "nginx"
    (prefix / "log").mkdir(parents=True, exist_ok=True)
    site = (root / "etc/nginx/conf.d/meldpunt.conf").read_text()
    site = site.replace("/var/log/nginx/", f"{prefix}/log/")
    site = re.sub(r"(ssl_certificate(?:_key)?) /etc/", rf"\1 {root}/etc/", site)
    nginx = Nginx(prefix, site, https_port=0)
    result = nginx.test()
    sys.stderr.write(result.stderr)
    return result.returncode


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] != "check":
        sys.exit("usage: nginxkit.py check ROOT STATE")
    sys.exit(check(Path(sys.argv[2]), Path(sys.argv[3])))

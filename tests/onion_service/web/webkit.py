"""Helpers for the web tests: configurations, identities, tokens, a gunicorn run, raw requests."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from kit import HTML_LANG, RECEIPT, ROOT, TOKEN, free_port  # noqa: F401 (re-exported)
from kit import Staff as Identity  # noqa: F401 (re-exported)
from kit import new_staff as new_identity  # noqa: F401 (re-exported)

from onion_service.config import Config, parse_config
from onion_service.web.token import FormTokens, load_or_create_secret

LANGS = ("nl", "fr", "de", "en")


def make_config(data_dir: Path, recipient: str, *, database_url: str = "", **limits) -> Config:
    raw = {
        "recipients": [recipient],
        "data_dir": str(data_dir),
        "database_url": database_url,
        "default_language": "nl",
        "hotline": {
            "name": "Testmeldpunt",
            "contact": {"nl": "Contact: test@example.org", "en": "Contact: test@example.org"},
            "emergency": [{"label": {"nl": "Politie", "fr": "Police", "de": "Polizei", "en": "Police"}, "number": "101"}],
        },
        "limits": {"reports_per_minute": 10_000, "form_min_seconds": 2, "form_max_hours": 6, **limits},
        "web": {"bind": "127.0.0.1:8080", "workers": 2, "threads": 4},
    }
    return parse_config(raw, base_dir=data_dir)


def write_config(path: Path, config: Config, recipient: str) -> None:
    """A TOML file equivalent to `config` (for servers started as a separate process)."""
    lim = config.limits
    path.write_text(
        f'recipients = ["{recipient}"]\n'
        f'data_dir = "{config.data_dir}"\n'
        f'database_url = "{config.database_url}"\n'
        'default_language = "nl"\n'
        "[hotline]\n"
        'name = "Testmeldpunt"\n'
        'contact = "Contact: test@example.org"\n'
        "[[hotline.emergency]]\n"
        'label = { nl = "Politie", fr = "Police", de = "Polizei", en = "Police" }\n'
        'number = "101"\n'
        "[limits]\n"
        f"reports_per_minute = {lim.reports_per_minute}\n"
        f"form_min_seconds = {lim.form_min_seconds}\n"
        f"form_max_hours = {lim.form_max_hours}\n"
        "[web]\n"
        f"workers = {config.web.workers}\n"
        f"threads = {config.web.threads}\n"
    )


def token(config: Config, lang: str, *, age_seconds: float = 30) -> str:
    """A valid token as if the form had been served `age_seconds` ago."""
    secret = load_or_create_secret(config.data_dir)
    issued = FormTokens(secret, min_seconds=0, max_seconds=1, clock=lambda: time.time() - age_seconds)
    return issued.issue(lang)


def form_body(fields: dict[str, object]) -> bytes:
    import urllib.parse

    pairs = []
    for name, value in fields.items():
        for v in value if isinstance(value, (list, tuple)) else [value]:
            pairs.append((name, v))
    return urllib.parse.urlencode(pairs).encode("ascii")


def good_fields(config: Config, lang: str = "nl", **extra) -> dict[str, object]:
    fields: dict[str, object] = {
        "urls": "http://example.org/a",
        "found_on": "website",
        "kinds": ["images"],
        "danger": "no",
        "token": token(config, lang),
        "homepage": "",
    }
    fields.update(extra)
    return fields


class Gunicorn:
    """`meldpunt serve --local-only` on a free loopback port, with its own TMPDIR."""

    def __init__(self, config_path: Path, tmpdir: Path, logdir: Path) -> None:
        self.port = free_port()
        self.tmpdir = tmpdir
        self.stdout = logdir / "gunicorn.stdout"
        self.stderr = logdir / "gunicorn.stderr"
        env = {**os.environ, "TMPDIR": str(tmpdir), "PYTHONDONTWRITEBYTECODE": "1"}
        with open(self.stdout, "wb") as out, open(self.stderr, "wb") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "crypto.cli", "serve", "--local-only", "--config", str(config_path),
                 "--bind", f"127.0.0.1:{self.port}"],
                cwd=ROOT, env=env, stdout=out, stderr=err, start_new_session=True,
            )
        self._wait_ready()

    def _wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.stderr.read_text()[-2000:]}")
            try:
                status, _, _ = self.request("GET", "/nl/")
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("gunicorn did not start")

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None,
                host: str | None = "127.0.0.1") -> tuple[int, dict[str, str], str]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
        try:
            conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            if host is not None:
                conn.putheader("Host", host)
            for k, v in (headers or {}).items():
                conn.putheader(k, v)
            if body is not None and "Content-Length" not in (headers or {}):
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body)
            resp = conn.getresponse()
            text = resp.read().decode("utf-8", "replace")
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, text
        finally:
            conn.close()

    def raw(self, data: bytes, *, timeout: float = 5) -> bytes:
        """Sends bytes as they are and returns whatever comes back until the server closes."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as s:
            try:
                s.sendall(data)
                s.shutdown(socket.SHUT_WR)
            except OSError:
                pass  # the server answered and closed before reading everything: read its answer
            chunks = []
            try:
                while chunk := s.recv(65536):
                    chunks.append(chunk)
            except (TimeoutError, ConnectionResetError):
                pass
            return b"".join(chunks)

    def post_form(self, lang: str, fields: dict[str, object]) -> tuple[int, dict[str, str], str]:
        return self.request("POST", f"/{lang}/", form_body(fields),
                            {"Content-Type": "application/x-www-form-urlencoded"})

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def files_containing(roots: list[Path], needles: list[bytes]) -> list[tuple[str, str]]:
    hits = []
    for root in roots:
        for path in root.rglob("*"):
            if path.is_file() and not path.is_symlink():
                data = path.read_bytes()
                hits += [(str(path), n.decode()) for n in needles if n in data]
    return hits

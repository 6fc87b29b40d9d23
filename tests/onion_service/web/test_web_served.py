"""The form served by gunicorn, as `meldpunt serve --local-only` runs it, on SQLite and PostgreSQL.

End to end with canaries (nothing readable left anywhere), and more than forty malformed requests
sent as raw bytes: each gets a 4xx page in the right language, no traceback, no row.
"""

from __future__ import annotations

import datetime
import secrets

from tests.formkit import form_body, token
from tests.harness import files_containing
from tests.onion_service.web.webkit import HTML_LANG, RECEIPT, good_fields


def parse(raw: bytes) -> tuple[int, dict[str, str], str]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers.setdefault(k.strip().lower(), v.strip())
    return status, headers, body.decode("utf-8", "replace")


def http(
    method: str,
    path: str,
    headers=(),
    body: bytes = b"",
    *,
    host: str | None = "127.0.0.1",
    length: int | None = None,
    version: str = "HTTP/1.1",
) -> bytes:
    lines = [f"{method} {path} {version}"]
    if host is not None:
        lines.append(f"Host: {host}")
    lines += [f"{k}: {v}" for k, v in headers]
    if body or length is not None:
        if not any(k.lower() in ("content-length", "transfer-encoding") for k, _ in headers):
            lines.append(f"Content-Length: {len(body) if length is None else length}")
    lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


FORM = ("Content-Type", "application/x-www-form-urlencoded")


def post(served, lang: str, fields: dict, *, extra=(), host="127.0.0.1") -> bytes:
    return http("POST", f"/{lang}/", [FORM, *extra], form_body(fields), host=host)


def multipart(with_file: bool, size: int = 1000) -> tuple[list, bytes]:
    b = "----meldpunt" + secrets.token_hex(4)
    part = f'--{b}\r\nContent-Disposition: form-data; name="urls"\r\n\r\nhttp://example.org/\r\n'
    if with_file:
        part += (
            f'--{b}\r\nContent-Disposition: form-data; name="f"; filename="a.jpg"\r\n'
            f"Content-Type: image/jpeg\r\n\r\n" + "X" * size + "\r\n"
        )
    part += f"--{b}--\r\n"
    return [("Content-Type", f"multipart/form-data; boundary={b}")], part.encode()


def chunked(body: bytes, size: int = 4096) -> bytes:
    out = b""
    for i in range(0, len(body), size):
        piece = body[i : i + size]
        out += f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    return out + b"0\r\n\r\n"


# The served configuration's default language: the page of a request refused before its path is read.
DEFAULT = "nl"


def cases(served) -> list[tuple[str, bytes, set[int], str | None]]:
    """(name, raw request, acceptable statuses, expected page language or None for gunicorn's own)."""
    c = served.config
    g = lambda lang="nl", **kw: good_fields(c, lang, **kw)  # noqa: E731  (a short name for the table below)
    tok = token(c.data_dir, "fr")
    forged = tok[:-3] + ("AAA" if not tok.endswith("AAA") else "BBB")
    mp_file_h, mp_file = multipart(True)
    mp_h, mp = multipart(False)
    big = form_body(g(description="x" * 200_000))
    return [
        ("empty body", http("POST", "/nl/", [FORM], b"", length=0), {400}, "nl"),
        ("no token", post(served, "fr", {k: v for k, v in g("fr").items() if k != "token"}), {400}, "fr"),
        ("forged token", post(served, "fr", g("fr", token=forged)), {400}, "fr"),
        ("garbage token", post(served, "de", g("de", token="x.y.z")), {400}, "de"),
        ("token for another language", post(served, "de", g("de", token=token(c.data_dir, "en"))), {400}, "de"),
        (
            "expired token",
            post(served, "en", g("en", token=token(c.data_dir, "en", age_seconds=7 * 3600))),
            {400},
            "en",
        ),
        ("too-fast token", post(served, "nl", g(token=token(c.data_dir, "nl", age_seconds=0))), {400}, "nl"),
        ("honeypot filled", post(served, "fr", g("fr", homepage="http://spam.example")), {400}, "fr"),
        ("invalid UTF-8", http("POST", "/de/", [FORM], form_body(g("de")) + b"&description=%FF%FE"), {400}, "de"),
        ("raw 8-bit bytes", http("POST", "/de/", [FORM], form_body(g("de")) + "&description=é".encode()), {400}, "de"),
        ("NUL byte", post(served, "nl", g(description="a\x00b")), {400}, "nl"),
        ("control character", post(served, "nl", g(access="\x1b[31m")), {400}, "nl"),
        ("unknown field", post(served, "en", {**g("en"), "admin": "1"}), {400}, "en"),
        ("repeated field", http("POST", "/en/", [FORM], form_body(g("en")) + b"&urls=http%3A%2F%2Fb.org"), {400}, "en"),
        ("too many fields", post(served, "nl", g(kinds=["images"] * 40)), {400}, "nl"),
        ("not key=value", http("POST", "/nl/", [FORM], b"%%%&&&==="), {400}, "nl"),
        ("multipart with a file", http("POST", "/fr/", mp_file_h, mp_file), {415}, "fr"),
        ("multipart without a file", http("POST", "/fr/", mp_h, mp), {415}, "fr"),
        (
            "broken multipart",
            http("POST", "/de/", [("Content-Type", "multipart/form-data")], b"--x\r\nbroken"),
            {415},
            "de",
        ),
        ("text/plain", http("POST", "/en/", [("Content-Type", "text/plain")], b"urls=http://a.org"), {415}, "en"),
        ("json", http("POST", "/en/", [("Content-Type", "application/json")], b'{"urls": "x"}'), {415}, "en"),
        ("no content type", http("POST", "/nl/", [], form_body(g())), {415}, "nl"),
        (
            "latin-1 charset",
            http(
                "POST",
                "/fr/",
                [("Content-Type", "application/x-www-form-urlencoded; charset=latin-1")],
                form_body(g("fr")),
            ),
            {400},
            "fr",
        ),
        ("oversized body", http("POST", "/nl/", [FORM], big), {413}, "nl"),
        (
            "oversized Content-Length, small body",
            http("POST", "/de/", [FORM], b"urls=x", length=50_000_000),
            {413},
            "de",
        ),
        (
            "oversized chunked body",
            http("POST", "/fr/", [FORM, ("Transfer-Encoding", "chunked")], chunked(big)),
            {400, 413},
            "fr",
        ),
        (
            "Content-Length longer than the body",
            http("POST", "/en/", [FORM], form_body(g("en")), length=9000),
            {400},
            "en",
        ),
        ("Content-Length shorter than the body", http("POST", "/nl/", [FORM], form_body(g()), length=10), {400}, "nl"),
        (
            "too many addresses",
            post(served, "de", g("de", urls="\n".join(f"http://a{i}.org" for i in range(25)))),
            {400},
            "de",
        ),
        ("address too long", post(served, "fr", g("fr", urls="http://a.org/" + "p" * 3000)), {400}, "fr"),
        ("javascript: address", post(served, "en", g("en", urls="javascript:alert(1)")), {400}, "en"),
        ("file: address", post(served, "nl", g(urls="file:///etc/passwd")), {400}, "nl"),
        ("description too long", post(served, "nl", g(description="y" * 6000)), {400}, "nl"),
        ("unknown found-on code", post(served, "de", g("de", found_on="darknet")), {400}, "de"),
        ("unknown kind", post(served, "fr", g("fr", kinds=["photos"])), {400}, "fr"),
        ("no kind", post(served, "fr", g("fr", kinds=[])), {400}, "fr"),
        ("impossible day", post(served, "en", g("en", seen_on="2024-02-30")), {400}, "en"),
        ("day in the future", post(served, "nl", g(seen_on="2999-01-01")), {400}, "nl"),
        ("danger missing", post(served, "de", {k: v for k, v in g("de").items() if k != "danger"}), {400}, "de"),
        ("unknown language", post(served, "eo", g()), {404}, "nl"),
        ("GET with a huge URL", http("GET", "/fr/?url=" + "a" * 5000), {414}, "fr"),
        ("request line over gunicorn's limit", http("GET", "/nl/?url=" + "a" * 9000), {414, 400}, DEFAULT),
        ("DELETE", http("DELETE", "/nl/"), {404}, "nl"),
        ("PUT", http("PUT", "/fr/", [FORM], b"a=b"), {404}, "fr"),
        ("PATCH", http("PATCH", "/de/", [FORM], b"a=b"), {404}, "de"),
        ("OPTIONS", http("OPTIONS", "/en/"), {404}, "en"),
        ("TRACE", http("TRACE", "/nl/"), {404}, "nl"),
        ("POST to the language choice", http("POST", "/", [FORM], b"a=b"), {404}, "nl"),
        ("POST to the stylesheet", http("POST", "/static/style.css", [FORM], b"a=b"), {404}, "nl"),
        ("foreign Host", http("GET", "/fr/", host="evil.example"), {421}, "fr"),
        ("Host that embeds ours", http("GET", "/de/", host="127.0.0.1.evil.example"), {421}, "de"),
        ("Host with userinfo", http("GET", "/en/", host="127.0.0.1:80@evil.example"), {421, 400}, "en"),
        ("Host with a bad port", http("GET", "/nl/", host="localhost:abc"), {421}, "nl"),
        ("no Host (HTTP/1.0)", http("GET", "/fr/", host=None, version="HTTP/1.0"), {421}, "fr"),
        ("no Host (HTTP/1.1)", http("GET", "/fr/", host=None), {421}, "fr"),
        ("two Host headers", http("GET", "/de/", [("Host", "evil.example")]), {400, 421}, DEFAULT),
        ("foreign Host on a POST", post(served, "nl", g(), host="evil.example"), {421}, "nl"),
        (
            "chunked small body",
            http("POST", "/de/", [FORM, ("Transfer-Encoding", "chunked")], chunked(form_body(g("de")))),
            {400},
            "de",
        ),
        (
            "chunked and Content-Length",
            http("POST", "/nl/", [FORM, ("Transfer-Encoding", "chunked"), ("Content-Length", "5")], b"0\r\n\r\n"),
            {400},
            DEFAULT,
        ),
        ("non-numeric Content-Length", http("POST", "/nl/", [FORM, ("Content-Length", "abc")], b"x"), {400}, DEFAULT),
    ]


def test_at_least_forty_malformed_requests_get_a_plain_4xx_page_and_store_nothing(served):
    before = served.store.count()
    all_cases = cases(served)
    assert len(all_cases) >= 40
    failures = []
    for name, raw, statuses, lang in all_cases:
        status, headers, body = parse(served.server.raw(raw))
        problems = []
        if status not in statuses:
            problems.append(f"status {status}")
        if "Traceback" in body or 'File "' in body:
            problems.append("traceback")
        if lang is not None:
            m = HTML_LANG.search(body)
            if not m or m.group(1) != lang:
                problems.append(f"language {m and m.group(1)}")
            if headers.get("cache-control") != "no-store" or "content-security-policy" not in headers:
                problems.append("headers")
        if "gunicorn" in body.lower() or "allow" in headers:
            problems.append("names gunicorn, or lists the methods a path takes")
        if "server" in headers or "set-cookie" in headers:
            problems.append("Server or Set-Cookie header")
        if problems:
            failures.append((name, problems))
    assert failures == [], "\n".join(map(str, failures))
    assert served.store.count() == before
    stderr = served.server.stderr.read_text()
    assert "Traceback" not in stderr and "evil.example" not in stderr and "127.0.0.1" not in stderr


def test_large_multipart_body_leaves_no_file_in_tmpdir(served):
    before = set(served.server.tmpdir.rglob("*"))
    headers, body = multipart(True, size=60_000)
    status, _, _ = parse(served.server.raw(http("POST", "/nl/", headers, body)))
    assert status == 415
    headers, body = multipart(True, size=5_000_000)
    status, _, _ = parse(served.server.raw(http("POST", "/nl/", headers, body), timeout=20))
    assert status in (413, 415)
    assert set(served.server.tmpdir.rglob("*")) == before


def test_canaries_end_to_end(served):
    tag = secrets.token_hex(8)
    canaries = {
        "urls": f"http://canary-url-{tag}.example/page",
        "access": f"canary-access-{tag}",
        "description": f"canary-description-{tag}",
        "contact": f"canary-contact-{tag}",
    }
    before = served.store.count()
    fields = good_fields(
        served.config, "fr", found_on="chat", kinds=["videos", "text"], danger="yes", seen_on="2026-01-02", **canaries
    )
    status, headers, body = served.server.post_form("fr", fields)
    assert status == 200, body[:500]
    assert "server" not in headers and "set-cookie" not in headers and headers["cache-control"] == "no-store"
    receipt = RECEIPT.search(body).group(1)
    assert "Police" in body and "101" in body  # danger: the emergency numbers first
    assert body.index("101") < body.index(receipt)
    assert served.store.count() == before + 1

    rows = [r for r in served.store.pending()]
    opened = [(row, served.identity.open(row.sealed)) for row in rows]
    mine = [(row, rep) for row, rep in opened if rep.receipt == receipt]
    assert len(mine) == 1
    row, rep = mine[0]
    assert rep.urls == (canaries["urls"],) and rep.access == canaries["access"]
    assert rep.description == canaries["description"] and rep.contact == canaries["contact"]
    assert (rep.found_on, rep.kinds, rep.child_in_danger, rep.language) == ("chat", ("videos", "text"), True, "fr")
    assert rep.seen_on == "2026-01-02"
    today = datetime.datetime.now(datetime.UTC).date()
    assert row.day == today and rep.received_on == today.isoformat()
    assert len({len(r.sealed) for r in rows}) == 1  # every sealed report has the same length

    # Nothing readable anywhere: data directory (WAL included), TMPDIR, gunicorn's output.
    needles = [v.encode() for v in canaries.values()] + [tag.encode(), receipt.encode()]
    roots = [served.config.data_dir, served.server.tmpdir, served.server.stdout.parent]
    assert files_containing(roots, needles) == []


def _sockets_of(pid: int) -> set[str]:
    import os

    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    return inodes


def test_server_opens_no_outbound_connection_and_keeps_its_files_private(served):
    """Every TCP socket of gunicorn's processes is its listening socket or a connection a client
    made to it; there is no UDP socket at all (no DNS lookup of a reported address)."""
    from pathlib import Path

    # Traffic first, including addresses a careless server would look up.
    served.server.post_form("en", good_fields(served.config, "en", urls="http://resolve-me.invalid/\nexample.org"))
    pids = [served.server.proc.pid]
    pids += [int(p) for p in Path(f"/proc/{pids[0]}/task/{pids[0]}/children").read_text().split()]
    inodes = set().union(*(_sockets_of(pid) for pid in pids))
    port_hex = f"{served.server.port:04X}"
    from sqlalchemy.engine import make_url

    db_port = make_url(served.config.database_url).port if served.backend == "postgres" else None
    seen = 0
    for table in ("tcp", "tcp6", "udp", "udp6"):
        for line in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            local, remote, inode = fields[1], fields[2], fields[9]
            if inode not in inodes:
                continue
            seen += 1
            assert table.startswith("tcp"), f"a {table} socket"
            if db_port and remote.endswith(f":{db_port:04X}") and remote.startswith("0100007F"):
                continue  # the database connection the configuration asks for (loopback)
            assert local.endswith(":" + port_hex), f"outbound connection {local} -> {remote}"
    assert seen >= 1  # the listening socket, at least: the inspection itself works
    assert (served.config.data_dir / "form-token.key").stat().st_mode & 0o777 == 0o600
    assert served.config.data_dir.stat().st_mode & 0o077 == 0

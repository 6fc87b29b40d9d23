"""Floods and what gives the server away: tor's PROXY line, per-circuit limits, single-use tokens,
no clock in headers or tokens, and refusals that keep the answers without saying which check failed.

The served tests run a real gunicorn on loopback with `--circuit-ids`, sending the PROXY line tor
would send (harness.proxy_line); the Tor tests (tests/onion_service/tor/test_tor_floods.py) do the
same through the private Tor network."""

from __future__ import annotations

import base64
import re
import socket
import time

import pytest

from onion_service.process import proxyline
from onion_service.shared.circuits import CircuitLimits
from onion_service.shared.table import PROBES, SharedTable
from onion_service.shared.token import FormTokens, SpentTokens, TokenExpired, TokenInvalid, TokenTooFast
from tests.formkit import token
from tests.harness import Server, files_containing, make_config, proxy_line, write_config
from tests.kit import RECEIPT, TOKEN
from tests.onion_service.web.webkit import good_fields

AGAIN = {"nl": "Kijk uw antwoorden", "en": "Please check your answers below"}
NEW_CIRCUIT = {"en": "New Tor circuit for this site", "nl": "Nieuw Tor-circuit voor deze site"}


# -- the PROXY line ------------------------------------------------------------------------------


def test_proxy_line_gives_the_circuit_id_from_the_last_32_bits():
    line = b"PROXY TCP6 fc00:dead:beef:4dad::0:19 ::1 25 80\r\n"
    assert proxyline.parse(line + b"GET / HTTP/1.1\r\n") == (0x19, len(line))
    assert proxyline.parse(proxy_line(0x1234ABCD)) == (0x1234ABCD, len(proxy_line(0x1234ABCD)))


def test_proxy_line_split_across_reads_waits_for_the_rest():
    line = proxy_line(77)
    for cut in range(1, len(line)):
        assert proxyline.parse(line[:cut]) is None, cut
    assert proxyline.parse(line) == (77, len(line))


@pytest.mark.parametrize(
    "data",
    [
        b"GET / HTTP/1.1\r\n",  # no PROXY line at all
        b"PROXY TCP4 10.0.0.1 10.0.0.2 1 80\r\n",  # not what tor writes
        b"PROXY TCP6 fc00:dead:beef:4dad::0:19 ::1 25\r\n",  # a field missing
        b"PROXY TCP6 fc00:dead:beef:4dad::0:19 ::1 25 80 9\r\n",  # one too many
        b"PROXY TCP6 2001:db8::1 ::1 25 80\r\n",  # not tor's circuit prefix
        b"PROXY TCP6 fc00:dead:beef:4dad::0:19 ::1 25 99999\r\n",  # port out of range
        b"PROXY TCP6 fc00:dead:beef:4dad::zz ::1 25 80\r\n",  # not an address
        b"PROXY  TCP6 fc00:dead:beef:4dad::0:19 ::1 25 80\r\n",  # two spaces
        b"PROXY TCP6 fc00:dead:beef:4dad::0:19 ::1 25 80\n",  # LF alone
        b"PROXY TCP6 fc00:dead:beef:4dad::0:19 ::1 25 \xff0\r\n",
        b"PROXY TCP6 " + b"f" * 200,  # oversized, no end in sight
        b"PROXY TCP6 " + b"1" * 95 + b" 1 2\r\n",  # over 107 bytes before its CRLF
    ],
)
def test_malformed_or_oversized_proxy_lines_are_refused(data):
    with pytest.raises(proxyline.ProxyLineError):
        proxyline.parse(data)


# -- the shared table ----------------------------------------------------------------------------


def test_shared_table_counts_forgets_when_the_time_passes_and_bounds_its_probes():
    now = [100.0]
    table = SharedTable(PROBES * 2, 1, clock=lambda: now[0])
    key = table.key_of(12345)
    bump = lambda counts: [counts[0] + 1]  # noqa: E731  (the update, as a caller passes it)
    assert table.update(key, 10, bump) == [0]
    assert table.update(key, 10, bump) == [1]
    assert table.holds(key)
    now[0] = 111.0  # the window passed: a new entry
    assert table.update(key, 10, bump) == [0]
    now[0] = 125.0
    table.sweep(PROBES * 2)  # and a sweep overwrites an expired key
    assert not table.holds(key) and table.live() == 0
    # Full: every row live, none can be added, nothing is overwritten.
    keys = [table.key_of(i) for i in range(PROBES * 2)]
    added = [table.update(k, 60, bump) is not None for k in keys]
    assert all(added[:PROBES])
    assert table.update(table.key_of(10**9), 60, bump) is None or table.live() <= PROBES * 2
    assert table.live() <= PROBES * 2


def test_shared_table_holds_no_circuit_id_as_such():
    table = SharedTable(PROBES, 1)
    table.update(table.key_of(0x1A), 60, lambda c: [1])
    assert 0x1A not in list(table._rows)  # a keyed hash, made fresh for each table


def test_circuit_limits_per_circuit_and_window():
    now = [0.0]
    limits = CircuitLimits(reports=3, pages=5, window_seconds=600, clock=lambda: now[0])
    assert [limits.take_report(7) for _ in range(4)] == [True, True, True, False]
    assert limits.take_report(8)  # another circuit has its own count
    limits.give_back_report(7)
    assert limits.take_report(7) and not limits.take_report(7)
    assert [limits.page(7) for _ in range(6)] == [True] * 5 + [False]
    assert limits.take_report(None) and limits.page(None)  # no circuit ids: nothing to count by
    now[0] = 601.0
    assert limits.take_report(7) and limits.page(7)


# -- tokens --------------------------------------------------------------------------------------


def test_token_shows_no_time_and_checks_age_language_and_forgery():
    now = [1_800_000_000.0]
    tokens = FormTokens(b"k" * 64, min_seconds=3, max_seconds=3600, clock=lambda: now[0])
    issued = tokens.issue("nl")
    # A time in clear would sit at the same place in every token; random bytes near it by chance
    # (a 4-byte window is, in about 1 token of 2,500) do not repeat across 8 tokens.
    raws = [
        base64.urlsafe_b64decode(t + "=" * (-len(t) % 4)) for t in [issued] + [tokens.issue("nl") for _ in range(7)]
    ]
    for width, order in ((4, "big"), (4, "little"), (8, "big"), (8, "little")):
        for i in range(len(raws[0]) - width + 1):
            near = [abs(int.from_bytes(raw[i : i + width], order) - now[0]) <= 10 * 86400 for raw in raws]
            assert not all(near), "the issue time is readable in the token"
    assert not re.search(rb"1[78]\d{8}", issued.encode())
    with pytest.raises(TokenTooFast):
        tokens.check(issued, "nl")
    now[0] += 10
    first = tokens.check(issued, "nl")
    assert first == tokens.check(issued, "nl") and len(first) == 12  # the id to spend it by
    with pytest.raises(TokenInvalid):
        tokens.check(issued, "fr")
    with pytest.raises(TokenInvalid):
        FormTokens(b"x" * 64, min_seconds=0, max_seconds=3600).check(issued, "nl")
    with pytest.raises(TokenInvalid):
        tokens.check(issued[:-2] + ("A" if issued[-2] != "A" else "B") + issued[-1], "nl")
    now[0] += 3600
    with pytest.raises(TokenExpired):
        tokens.check(issued, "nl")
    assert tokens.issue("nl") != tokens.issue("nl")  # two forms served in one second differ


def test_spent_tokens_once_each_and_given_back():
    spent = SpentTokens(3600, slots=PROBES)
    assert spent.spend(b"a" * 12) and not spent.spend(b"a" * 12) and spent.spend(b"b" * 12)
    spent.give_back(b"a" * 12)
    assert spent.spend(b"a" * 12)


# -- in the app ----------------------------------------------------------------------------------

HOST = {"Host": "127.0.0.1:5000"}


def test_replayed_token_gets_the_form_back_with_the_answers_and_a_fresh_token(app_env):
    fields = good_fields(app_env.config, "en", description="first-and-only")
    first = app_env.client.post("/en/", data=fields, headers=HOST)
    assert first.status_code == 200 and RECEIPT.search(first.get_data(as_text=True))
    again = app_env.client.post("/en/", data={**fields, "description": "replayed-answer"}, headers=HOST)
    html = again.get_data(as_text=True)
    assert again.status_code == 400 and "replayed-answer" in html and AGAIN["en"] in html
    assert not RECEIPT.search(html)
    fresh = TOKEN.search(html).group(1)
    assert fresh != fields["token"]
    assert app_env.store.count() == 1


@pytest.mark.parametrize("case", ["honeypot", "foreign token", "garbage token", "too fast"])
def test_honeypot_and_bad_tokens_keep_the_answers_with_one_generic_message(app_env, case):
    fields = good_fields(app_env.config, "nl", description=f"keep {case}", access="invite-kept")
    if case == "honeypot":
        fields["homepage"] = "http://autofill.example"
    elif case == "foreign token":
        other = FormTokens(b"z" * 64, min_seconds=0, max_seconds=3600, clock=lambda: time.time() - 60)
        fields["token"] = other.issue("nl")
    elif case == "garbage token":
        fields["token"] = "not-a-token"
    else:
        fields["token"] = token(app_env.config.data_dir, "nl", age_seconds=0)
    response = app_env.client.post("/nl/", data=fields, headers=HOST)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert f"keep {case}" in html and "invite-kept" in html and AGAIN["nl"] in html
    assert "autofill.example" not in html  # the honeypot is not filled in again
    notice = re.search(r'<div class="notice" role="alert"><p>(.*?)</p>', html, re.S).group(1)
    assert notice.strip().startswith(AGAIN["nl"])  # the same words for every case
    assert app_env.store.count() == 0


# -- served, with tor's PROXY line ---------------------------------------------------------------


@pytest.fixture(scope="module")
def circuit_server(tmp_path_factory, staff):
    tmp = tmp_path_factory.mktemp("circuits")
    (tmp / "tmp").mkdir()
    path = write_config(
        tmp / "m.toml", tmp / "data", staff.recipient, default_language="en", form_min_seconds=0, workers=2
    )
    server = Server(path, tmp / "logs", tmpdir=tmp / "tmp", circuit_ids=True).start()
    config = make_config(tmp / "data", staff.recipient, default_language="en", form_min_seconds=0)
    yield server, config, tmp
    server.stop()


def _send(server, data: bytes, *, pause: float = 0.0) -> bytes:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        for i in range(0, len(data), 7 if pause else len(data)):
            s.sendall(data[i : i + (7 if pause else len(data))])
            time.sleep(pause)
        s.shutdown(socket.SHUT_WR)
        out = b""
        while chunk := s.recv(65536):
            out += chunk
        return out


def test_connection_without_the_proxy_line_is_closed_unanswered(circuit_server):
    server, _, _ = circuit_server
    get = b"GET /en/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    assert _send(server, get) == b""
    assert _send(server, b"PROXY TCP6 2001:db8::1 ::1 1 80\r\n" + get) == b""
    answer = _send(server, proxy_line(5) + get, pause=0.01)  # split across many reads
    assert answer.startswith(b"HTTP/1.1 200")


def test_no_date_header_and_no_server_header(circuit_server):
    server, _, _ = circuit_server
    for path in ("/", "/en/", "/nope", "/static/style.css"):
        status, headers, _ = server.request("GET", path, circuit=9)
        assert "date" not in headers and "server" not in headers, path
    raw = server.raw(b"GARBAGE\r\n\r\n")  # gunicorn's own refusal path (no PROXY line: closed)
    assert b"Date:" not in raw


def test_the_head_before_the_application_headers_is_the_status_and_the_connection(circuit_server):
    # process/server.py writes these lines itself, in place of gunicorn's (which name the software
    # and the clock): the status line as the request's HTTP version, and whether the connection stays.
    server, _, _ = circuit_server
    heads = {}
    for version, close in (("1.1", ""), ("1.1", "Connection: close\r\n"), ("1.0", "")):
        request = f"GET /static/style.css HTTP/{version}\r\nHost: 127.0.0.1\r\n{close}\r\n".encode()
        heads[version, bool(close)] = _send(server, proxy_line(11) + request).split(b"\r\n")[:2]
    assert heads == {
        ("1.1", False): [b"HTTP/1.1 200 OK", b"Connection: keep-alive"],
        ("1.1", True): [b"HTTP/1.1 200 OK", b"Connection: close"],
        ("1.0", False): [b"HTTP/1.0 200 OK", b"Connection: close"],
    }


def test_reports_per_circuit_are_bounded_and_the_answers_kept(circuit_server):
    server, config, _ = circuit_server
    circuit = 0x00AB0001
    statuses = []
    for i in range(5):
        status, _, html = server.post_form("en", good_fields(config, "en", description=f"flood {i}"), circuit=circuit)
        statuses.append(status)
    assert statuses == [200, 200, 200, 429, 429]
    assert NEW_CIRCUIT["en"] in html and "flood 4" in html and TOKEN.search(html)
    # A reporter on another circuit is not affected.
    status, _, html = server.post_form("en", good_fields(config, "en"), circuit=circuit + 1)
    assert status == 200 and RECEIPT.search(html)


def test_pages_per_circuit_are_bounded(circuit_server):
    server, config, _ = circuit_server
    circuit = 0x00CD0001
    statuses = [server.request("GET", "/en/", circuit=circuit)[0] for _ in range(config.limits.pages_per_circuit)]
    assert set(statuses) == {200}
    status, _, html = server.request("GET", "/nl/", circuit=circuit)
    assert status == 429 and NEW_CIRCUIT["nl"] in html
    assert server.request("GET", "/en/", circuit=circuit + 1)[0] == 200


def test_a_posted_prefill_past_the_page_limit_keeps_its_addresses(circuit_server):
    server, config, _ = circuit_server
    circuit = 0x00CD0002
    for _ in range(config.limits.pages_per_circuit):
        server.request("GET", "/en/", circuit=circuit)
    status, _, html = server.request(
        "POST",
        "/en/prefill",
        b"url=http%3A%2F%2Fexample.org%2Fkept",
        {"Content-Type": "application/x-www-form-urlencoded"},
        circuit=circuit,
    )
    assert status == 429 and NEW_CIRCUIT["en"] in html and ">http://example.org/kept</textarea>" in html


def test_circuit_ids_are_nowhere_but_in_memory(circuit_server, staff):
    server, config, tmp = circuit_server
    marker = 0x5EED0042
    for _ in range(2):
        server.post_form("en", good_fields(config, "en", description="marker"), circuit=marker)
    needles = [f"{marker:x}", str(marker), "5eed:42", marker.to_bytes(4, "big").hex()]
    assert files_containing([tmp / "data", tmp / "tmp", tmp / "logs"], [n.encode() for n in needles]) == []
    _, headers, html = server.request("GET", "/en/", circuit=marker)
    assert not any(n in html or n in str(headers) for n in needles)

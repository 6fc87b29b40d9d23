"""The assembled service, every channel at once, under attack (issue 22).

deploy/install.sh --https-proxy into a throwaway root; the service tor with the drop-in it wrote
on the private Tor network; nginx with the site it rendered; `meldpunt serve --config` on the
configuration it wrote (defaults kept, `control = "torrc"`, the status page on; SQLite, and once PostgreSQL) inside
the unit's sandbox (tests/system/systemkit.py). Then, at the same time on each channel (the onion
through the client tor's SOCKS port, HTTPS through nginx):

  reporters   headless Chromium with JavaScript off, and plain HTTP clients that file a report and
              look it up on the status page, one of them coming in through the extension's
              POST /<lang>/prefill;
  attackers   a replayer (one valid report, then its token again and again), junk posts, a flood
              of status look-ups, and slow clients that hold connections open sending a header
              line every few seconds.

Then meldpunt restarts (SIGTERM, started again as the unit starts it) and it all runs once more,
while every token spent before the restart is sent again. Afterwards, per channel: every reporter
got a receipt, every acknowledged report opens offline with the staff key to what was sent, the
attackers got nothing past their one valid report, no replay was taken after the restart, and no
file below the root holds the client's User-Agent, a forwarded address, a client address or a
circuit id.
"""

from __future__ import annotations

import secrets
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

import pytest

from tests.system import systemkit as k

pytestmark = [
    pytest.mark.system,
    pytest.mark.tor,
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not Path("/usr/sbin/nginx").exists(), reason="needs Debian's nginx (make test-deps)"),
]

CHANNELS = ("onion", "https")
ATTACK_SECONDS = 25  # how long each round's attackers run (bounded: the suite must stay short)
SLOW_CLIENTS = 6  # per channel and round
REPORTERS = 3  # plain HTTP reporters per channel and round, besides Chromium


class Record:
    """What every thread saw, under one lock."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reporters: dict[str, list] = defaultdict(list)  # channel -> (who, receipt, description)
        self.lookups: dict[str, list[int]] = defaultdict(list)
        self.fakes: dict[str, list[str]] = defaultdict(list)  # receipts the attackers got
        self.spent: dict[str, list[str]] = defaultdict(list)  # tokens spent by an accepted report
        self.attacks: dict[str, list] = defaultdict(list)  # (channel, kind) -> statuses or results
        self.errors: list[str] = []
        self.restart_seconds = 0.0
        self.stored_before = 0

    def add(self, table: str, key, value) -> None:
        with self.lock:
            getattr(self, table)[key].append(value)


def client(system: k.System, channel: str, group: int, i: int):
    return k.OnionClient(system) if channel == "onion" else k.HttpsClient(system, k.source_address(group, i))


def chromium_reporter(system: k.System, channel: str, record: Record, tag: str) -> None:
    from selenium.webdriver.common.by import By

    from tests.kit import chromium, wait_for

    if channel == "onion":
        args = [
            f"--proxy-server=socks5://127.0.0.1:{system.network.socks_port}",
            "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
        ]
        url = f"http://{system.onion}/nl/"
    else:
        args = ["--ignore-certificate-errors", f"--host-resolver-rules=MAP {k.NAME} 127.0.0.1, MAP * ~NOTFOUND"]
        url = f"https://{k.NAME}:{system.https_port}/nl/"
    description = f"chromium {channel} {tag}"
    with chromium(*args, f"--user-agent={k.UA}", height=2400, page_load_timeout=90) as driver:
        driver.get(url)
        driver.find_element(By.ID, "urls").send_keys(f"http://example.org/{channel}-{tag}")
        driver.find_element(By.CSS_SELECTOR, "label[for=found_on-forum]").click()
        driver.find_element(By.CSS_SELECTOR, "label[for=kinds-videos]").click()
        driver.find_element(By.ID, "description").send_keys(description)
        time.sleep(3.3)  # form_min_seconds, the default
        driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        receipt = wait_for(driver, ".code strong", within=90).text
    record.add("reporters", channel, ("chromium", receipt, description))


def plain_reporter(system: k.System, channel: str, record: Record, i: int, tag: str, via_prefill: bool) -> None:
    c = client(system, channel, 1, i)
    description = f"plain {channel} {tag} {i}"
    if via_prefill:
        status, page = k.prefill(c, f"http://example.org/prefilled-{tag}")
        assert status == 200 and f"prefilled-{tag}" in page
        time.sleep(3.3)
        receipt = k.receipt_of(*c.post("/en/", k.report(k.token_of(page), description)))
        token = k.token_of(page)
    else:
        receipt, token = k.file_report(c, description, 3.3)
    record.add("reporters", channel, (f"plain {i}", receipt, description))
    if receipt:
        record.add("spent", channel, token)
        record.add("lookups", channel, k.look_up(c, receipt, 3.3))


def replayer(system, channel, record, stop: threading.Event, tag: str) -> None:
    c = client(system, channel, 2, 1)
    receipt, token = k.file_report(c, f"fake {tag}", 3.3)
    if receipt:
        record.add("fakes", channel, receipt)
        record.add("spent", channel, token)
    while not stop.wait(0.5):
        record.add("attacks", (channel, "replay"), k.receipt_of(*c.post("/en/", k.report(token, "replayed"))))


def junk_poster(system, channel, record, stop, tag) -> None:
    c = client(system, channel, 3, 1)
    while not stop.wait(0.1):
        body = {"token": secrets.token_urlsafe(40), "urls": secrets.token_hex(30), "kinds": "x" * 50}
        record.add("attacks", (channel, "junk"), k.receipt_of(*c.post("/en/", body)))


def lookup_flooder(system, channel, record, stop, tag) -> None:
    c = client(system, channel, 4, 1)
    while not stop.is_set():
        status, page = c.get("/en/status")
        token = k.token_of(page) if status == 200 else secrets.token_urlsafe(40)
        for _ in range(5):
            code = "-".join(secrets.token_hex(2).upper() for _ in range(4))
            status = c.post("/en/status", {"code": code, "token": token, "homepage": ""})[0]
            record.add("attacks", (channel, "lookup"), status)
        stop.wait(0.1)


def slow(system, channel, record, stop, tag) -> None:
    closed = k.slow_client(client(system, channel, 5, secrets.randbelow(200)), ATTACK_SECONDS)
    record.add("attacks", (channel, "slow"), closed)


def guarded(record: Record, fn, *args) -> None:
    try:
        fn(*args)
    except Exception as exc:  # noqa: BLE001 (the thread's failure goes into the record, the test reports it)
        with record.lock:
            record.errors.append(f"{fn.__name__} {args[1]}: {type(exc).__name__}: {exc}")


def round_(system: k.System, record: Record, tag: str, *, chromium: bool) -> None:
    stop = threading.Event()
    attackers, reporters = [], []
    for channel in CHANNELS:
        for fn in (replayer, junk_poster, lookup_flooder):
            attackers.append(threading.Thread(target=guarded, args=(record, fn, system, channel, record, stop, tag)))
        for _ in range(SLOW_CLIENTS):
            attackers.append(threading.Thread(target=guarded, args=(record, slow, system, channel, record, stop, tag)))
        if chromium:
            reporters.append(
                threading.Thread(target=guarded, args=(record, chromium_reporter, system, channel, record, tag))
            )
        for i in range(REPORTERS):
            reporters.append(
                threading.Thread(
                    target=guarded,
                    args=(record, plain_reporter, system, channel, record, i + 10 * len(tag), tag, i == 0),
                )
            )
    for t in attackers:
        t.start()
    time.sleep(3)  # the attacks are under way before the reporters come
    for t in reporters:
        t.start()
        time.sleep(0.3)
    ended = time.monotonic() + ATTACK_SECONDS
    for t in reporters:
        t.join(max(1.0, ended + 90 - time.monotonic()))
    stop.wait(max(0.0, ended - time.monotonic()))
    stop.set()
    for t in attackers:
        t.join(ATTACK_SECONDS + 30)


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def run(request, tmp_path_factory, staff):
    from crypto.status.keys import SigningKey

    base = tmp_path_factory.mktemp("system")
    url, readable = "", ()
    if request.param == "postgres":
        # A database of its own on the session's server, reached over its unix socket as a
        # hotline's configuration would ("?host=/run/postgresql").
        pg = request.getfixturevalue("_postgres_session")
        name = f"system_{secrets.token_hex(4)}"
        pg.create_database(name)
        request.addfinalizer(lambda: pg.drop_database(name))
        url, readable = pg.url(name, via_socket=True), (pg.socket_dir,)
    system = k.System(
        base, staff.recipient, SigningKey.generate().public().encode(), database_url=url, readable=readable
    )
    record = Record()
    try:
        system.start()
        round_(system, record, "a", chromium=True)
        before = {ch: list(record.spent[ch]) for ch in CHANNELS}
        stored_before = len(system.opened(staff))
        record.restart_seconds = system.restart()
        # Every token spent before the restart, sent again on its own channel, while the second
        # round runs.
        replays = threading.Thread(target=_replay_all, args=(system, record, before))
        replays.start()
        round_(system, record, "bb", chromium=False)
        replays.join(120)
        record.stored_before = stored_before
        print(
            f"\nsystem: restart {record.restart_seconds:.1f} s; attacks: "
            + ", ".join(f"{ch}/{kind} {len(v)}" for (ch, kind), v in sorted(record.attacks.items())),
            file=sys.stderr,
        )
        system.stop_meldpunt()  # its files as they are at rest
        yield system, record
    finally:
        system.stop()


def _replay_all(system, record, before) -> None:
    for channel, tokens in before.items():
        for i, token in enumerate(tokens):
            c = client(system, channel, 6, i)
            try:
                record.add(
                    "attacks",
                    (channel, "after restart"),
                    k.receipt_of(*c.post("/en/", k.report(token, "replayed after restart"))),
                )
            except OSError as exc:
                record.errors.append(f"replay after restart {channel}: {exc}")


def test_no_thread_failed(run):
    assert run[1].errors == []


@pytest.mark.parametrize("channel", CHANNELS)
def test_real_reporters_get_receipts_and_answers_to_look_ups(run, channel):
    _, record = run
    reporters = record.reporters[channel]
    assert len(reporters) == 1 + 2 * REPORTERS, reporters  # Chromium in the first round only
    assert all(receipt for _, receipt, _ in reporters), reporters
    assert record.lookups[channel] == [200] * (2 * REPORTERS)


@pytest.mark.parametrize("channel", CHANNELS)
def test_every_acknowledged_report_opens_offline_and_nothing_else_was_taken(run, staff, channel):
    system, record = run
    opened = {r.receipt: r for r in system.opened(staff)}
    for _, receipt, description in record.reporters[channel]:
        assert opened[receipt].description == description
    # The replayer's one report per round is the only fake one; nothing junk, replayed or looked
    # up became a report.
    assert len(record.fakes[channel]) == 2 and all(r in opened for r in record.fakes[channel])
    assert len(opened) == sum(len(record.reporters[c]) + len(record.fakes[c]) for c in CHANNELS)


@pytest.mark.parametrize("channel", CHANNELS)
def test_attackers_got_nothing_past_their_one_report(run, channel):
    _, record = run
    replays, junk = record.attacks[(channel, "replay")], record.attacks[(channel, "junk")]
    assert replays and not any(replays)
    assert junk and not any(junk)
    lookups = record.attacks[(channel, "lookup")]
    # Refused (400), turned away by the budget (503), per circuit (429) or by nginx (429).
    assert lookups and set(lookups) <= {200, 400, 429, 503}, set(lookups)
    assert len(record.attacks[(channel, "slow")]) == 2 * SLOW_CLIENTS


@pytest.mark.parametrize("channel", CHANNELS)
def test_tokens_spent_before_the_restart_are_refused_after_it(run, channel):
    _, record = run
    after = record.attacks[(channel, "after restart")]
    # Chromium's token is not known to the test; every plain reporter's and the replayer's is.
    assert len(after) == REPORTERS + 1 and not any(after), after
    assert record.restart_seconds < 60


def test_no_file_holds_anything_about_a_client(run, staff):
    system, record = run
    needles = [k.UA.rsplit(" ", 1)[1], k.XFF, k.CIRCUIT_PREFIX, "127.88."]
    files = system.files()
    assert any(p.suffix == ".log" for p in files)
    hits = [(str(p), n) for p in files for n in needles if n.encode() in p.read_bytes()]
    if system.database_url:
        # PostgreSQL's files are the server's: every row of every table of the database instead.
        rows = _database_rows(system.database_url)
        assert rows
        hits += [("database", n) for n in needles if n.encode() in rows]
    else:
        assert any(p.name == "reports.sqlite3" for p in files)
    assert hits == []
    for report in system.opened(staff):
        assert not [n for n in needles if n in repr(report)]


def _database_rows(url: str) -> bytes:
    import psycopg

    conninfo = url.replace("postgresql+psycopg://", "postgresql://")
    out = []
    with psycopg.connect(conninfo) as conn:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
            )
        ]
        for table in tables:
            for row in conn.execute(f'SELECT * FROM "{table}"'):
                out.append(b"|".join(v if isinstance(v, bytes) else str(v).encode() for v in row))
    return b"\n".join(out)

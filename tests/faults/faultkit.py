"""Helpers for the fault tests: timed requests, reporters that remember what they were told, and
the check that every acknowledged report is stored, once, and opens. The server they kill, its
configuration and the staff key come from the shared harness (tests/harness.py).

Everything here talks to 127.0.0.1 only, and every loop is bounded in count and in time.
"""

from __future__ import annotations

import contextlib
import http.client
import secrets
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from crypto.errors import Error
from onion_service.store import Store, open_store
from tests.formkit import report_body, token
from tests.harness import ROOT, Server, Staff
from tests.kit import HTML_LANG, RECEIPT


@contextlib.contextmanager
def serving(server: Server, database_url: str) -> Iterator[Store]:
    """The server started and a store on its database, for a fault test's body; the server's log
    is printed if the body fails, and both are closed afterwards whatever happened."""
    store = None
    try:
        server.start()
        store = open_store(database_url)
        yield store
    except BaseException:
        print(server.log_tail(), file=sys.stderr)
        raise
    finally:
        server.stop()
        if store is not None:
            store.close()


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    text: str
    seconds: float


def request(port: int, method: str, path: str, body: bytes | None = None, *, timeout: float = 20) -> Reply:
    started = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        headers = {"Host": "127.0.0.1", "Connection": "close"}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        text = resp.read().decode("utf-8", "replace")
        return Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, text, time.monotonic() - started)
    finally:
        conn.close()


def post_report(port: int, lang: str, description: str, tok: str, *, timeout: float = 20) -> Reply:
    return request(port, "POST", f"/{lang}/", report_body(tok, description=description), timeout=timeout)


def receipt_of(reply: Reply) -> str | None:
    if reply.status != 200:
        return None
    m = RECEIPT.search(reply.text)
    return m.group(1) if m else None


def rss_kib(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total


@dataclass
class Ledger:
    """What the reporters were told: receipts shown on a thank-you page, and every status."""

    acked: dict[str, str] = field(default_factory=dict)  # receipt -> description sent
    statuses: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, description: str, reply: Reply | None, error: BaseException | None = None) -> None:
        with self.lock:
            if error is not None:
                self.errors[type(error).__name__] += 1
                return
            self.statuses[reply.status] += 1
            receipt = receipt_of(reply)
            if receipt is not None:
                self.acked[receipt] = description


class Reporters:
    """`count` threads posting reports to `port` until stopped (or `max_seconds` pass).

    Each report carries a unique description so a stored row can be matched to what was sent.
    A connection error (the server was killed) is recorded and the thread carries on.
    """

    def __init__(
        self,
        port_of,
        data_dir: Path,
        ledger: Ledger,
        *,
        count: int = 6,
        tag: str = "r",
        max_seconds: float = 60,
        pause: float = 0.0,
        lang: str = "nl",
    ) -> None:
        self._port_of = port_of  # a callable: the port may change between restarts
        self._data_dir = data_dir  # a fresh token for every report: each is spent once
        self._ledger, self._tag, self._pause, self._lang = ledger, tag, pause, lang
        self._stop = threading.Event()
        self._deadline = time.monotonic() + max_seconds
        self.sent = 0
        self._threads = [threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(count)]
        for t in self._threads:
            t.start()

    def _run(self, n: int) -> None:
        i = 0
        while not self._stop.is_set() and time.monotonic() < self._deadline:
            description = f"{self._tag}-{n}-{i}-{secrets.token_hex(4)}"
            i += 1
            try:
                reply = post_report(
                    self._port_of(), self._lang, description, token(self._data_dir, self._lang), timeout=15
                )
            except (OSError, http.client.HTTPException) as exc:
                self._ledger.record(description, None, exc)
                self._stop.wait(0.02)
                continue
            self._ledger.record(description, reply)
            with self._ledger.lock:
                self.sent += 1
            if self._pause:
                self._stop.wait(self._pause)

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=30)


def verify_store(store, staff: Staff, acked: dict[str, str], opened: dict | None = None) -> dict[str, int]:
    """Every acknowledged receipt is stored exactly once and opens to what was sent; every row
    opens (nothing partial); the database passes its integrity check. Returns counts.

    `opened` (id -> (receipt, description)) carries rows already opened by an earlier call, so a
    loop that verifies after every crash opens each row once; rows are checked to still be there.
    """
    store.check_integrity()
    opened = {} if opened is None else opened
    seen: Counter = Counter()
    descriptions: dict[str, str] = {}
    ids = set()
    for row in store.pending():
        assert row.id not in ids, "a report id is stored twice"
        ids.add(row.id)
        if row.id not in opened:
            try:
                r = staff.open(row.sealed)
            except Error as exc:  # a partial or damaged row
                raise AssertionError(f"a stored row does not open: {type(exc).__name__}: {exc}") from None
            opened[row.id] = (r.receipt, r.description)
        receipt, description = opened[row.id]
        seen[receipt] += 1
        descriptions[receipt] = description
    gone = set(opened) - ids
    assert not gone, f"{len(gone)} rows stored earlier have disappeared"
    duplicates = [r for r, n in seen.items() if n > 1]
    assert not duplicates, f"{len(duplicates)} receipts are stored more than once"
    lost = [r for r in acked if r not in seen]
    assert not lost, f"{len(lost)} of {len(acked)} acknowledged reports are missing"
    wrong = [r for r, d in acked.items() if descriptions[r] != d]
    assert not wrong, f"{len(wrong)} acknowledged reports opened to another report's text"
    return {"rows": len(ids), "acked": len(acked), "unacknowledged_but_stored": len(ids) - len(acked)}


def translated(lang: str, msgid: str) -> str:
    """`msgid`'s translation from the catalog shipped in onion_service/web/translations."""
    from babel.messages.pofile import read_po

    path = ROOT / "onion_service" / "web" / "translations" / lang / "LC_MESSAGES" / "messages.po"
    with open(path, "rb") as f:
        text = read_po(f)[msgid].string
    assert text, f"{msgid!r} has no {lang} translation"
    return text


def assert_refused_page(reply: Reply, lang: str, msgid: str, description: str) -> None:
    """A clear refusal: 503, Retry-After, the notice in the reporter's language, answers kept."""
    import html

    assert reply.status == 503, reply.status
    assert reply.headers.get("retry-after", "").isdigit(), reply.headers
    assert HTML_LANG.search(reply.text).group(1) == lang
    page = " ".join(html.unescape(reply.text).split())
    assert " ".join(translated(lang, msgid).split()) in page, "the refusal is not explained in the reporter's language"
    assert description in page, "the reporter's answers were not kept on the 503 page"
    assert "Traceback" not in reply.text


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, int(round(p / 100 * len(ordered) + 0.5)) - 1))
    return ordered[k]

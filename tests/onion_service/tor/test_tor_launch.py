"""`[tor] control = "launch"`: meldpunt starts its own tor with stem, publishes through it, and the
tor is gone when meldpunt stops. The launched tor joins the private network (test-only options)."""

from __future__ import annotations

import os
import threading

import pytest

from onion_service.config import load_config
from onion_service.tor import control
from onion_service.tor.serve import serve_with_tor
from tests.onion_service.tor.torkit import fetch_until, write_config

pytestmark = pytest.mark.tor


def test_launch_mode_publishes_through_its_own_tor_and_stops_it(tmp_path, tor_network, staff):
    data_dir = tmp_path / "d"  # short: the control socket path must fit in sun_path
    config_path = write_config(tmp_path / "m.toml", data_dir, staff.recipient, "launch")
    config = load_config(config_path)
    stop, ready = threading.Event(), threading.Event()
    found: dict[str, object] = {}
    lines: list[str] = []

    def on_ready(hostname: str) -> None:
        found["hostname"] = hostname
        probe = control.connect(f"unix:{data_dir / 'tor' / 'control.sock'}")
        try:
            found["tor_pid"] = int(probe.get_info("process/pid"))
        finally:
            probe.close()
        ready.set()

    errors: list[BaseException] = []

    def run() -> None:
        try:
            serve_with_tor(
                config,
                config_path,
                stop=stop,
                on_ready=on_ready,
                out=lines.append,
                notify=lambda m: None,
                launcher_config=tor_network.client_options(),
            )
        except BaseException as exc:  # noqa: BLE001  (reported by the assertion below)
            errors.append(exc)
            ready.set()

    thread = threading.Thread(target=run)
    thread.start()
    try:
        assert ready.wait(120) and not errors, errors
        assert lines == [f"onion: http://{found['hostname']}/"]
        page, _ = fetch_until(f"http://{found['hostname']}/", tor_network.socks_port, within=60)
        assert page.status_code == 200
    finally:
        stop.set()
        thread.join(60)
    assert not thread.is_alive() and not errors, errors
    pid = found["tor_pid"]
    assert not os.path.exists(f"/proc/{pid}") or "Z" in open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[:1]

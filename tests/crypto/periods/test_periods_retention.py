"""Forward secrecy at rest, end to end: reports sealed by the server's own sealer to the period of
their day, bundles copied aside as a backup would, old periods retired on the offline machine;
the copies of retired periods no longer open (and say why), later ones still do."""

from __future__ import annotations

import datetime
import secrets
import shutil
import subprocess
import sys

from crypto.envelope.report import Report
from crypto.staff.bundle import BundleWriter
from onion_service.config import parse_config
from onion_service.web.seal import Sealer
from tests.clirun import meldpunt
from tests.crypto.staff.staffkit import plain_report

TODAY = datetime.datetime.now(datetime.UTC).date()


def _first_of_month(day: datetime.date, back: int) -> datetime.date:
    month = day.month - back
    return datetime.date(day.year + (month - 1) // 12, (month - 1) % 12 + 1, 1)


def _report(day: datetime.date, n: int) -> Report:
    return plain_report(f"http://example.test/{n}", f"report {n}", received_on=day.isoformat())


def _keys(tmp_path, command: str, *args):
    """`meldpunt keys COMMAND` on the test's period identity file, which must succeed."""
    return meldpunt(
        "keys",
        command,
        "-i",
        str(tmp_path / "staff.age"),
        "--passphrase-file",
        str(tmp_path / "pass"),
        *args,
        check=True,
    )


def _bundle(path, sealed: bytes, day: datetime.date) -> None:
    with open(path, "wb") as f:
        writer = BundleWriter(f)
        writer.add(secrets.token_bytes(16), sealed, day)
        writer.finish()


def _config(tmp_path, schedule, **extra):
    return parse_config(
        {"schedules": [str(schedule)], "data_dir": str(tmp_path / "data"), "hotline": {"name": "Test"}, **extra},
        base_dir=tmp_path,
    )


def test_retired_periods_no_longer_open_anywhere_and_later_ones_do(tmp_path):
    (tmp_path / "pass").write_text("a long enough passphrase for tests\n")
    start = _first_of_month(TODAY, 2)  # three monthly periods: two past, this month
    meldpunt(
        "keygen",
        "--periods",
        "3",
        "--start",
        start.isoformat(),
        "--passphrase-file",
        str(tmp_path / "pass"),
        "-o",
        str(tmp_path / "staff.age"),
        "--schedule",
        str(tmp_path / "schedule.txt"),
        check=True,
    )
    config = _config(tmp_path, tmp_path / "schedule.txt")
    # The server holds public keys only.
    assert "SECRET" not in (tmp_path / "schedule.txt").read_text() and config.recipients == ()
    sealer = Sealer(config.recipients, config.schedules)
    days = [start, _first_of_month(TODAY, 1), TODAY]
    backup = tmp_path / "backup"
    backup.mkdir()
    for n, day in enumerate(days):
        _bundle(tmp_path / f"b{n}.tar", sealer.seal(_report(day, n)), day)
        shutil.copy(tmp_path / f"b{n}.tar", backup / f"b{n}.tar")
    opened = meldpunt(
        "open",
        str(tmp_path / "b0.tar"),
        "-i",
        str(tmp_path / "staff.age"),
        "--passphrase-file",
        str(tmp_path / "pass"),
        "--out",
        str(tmp_path / "before"),
        check=True,
    )
    assert b"Opened 1 of 1" in opened.stdout

    dry = _keys(tmp_path, "retire", "--before", _first_of_month(TODAY, 0).isoformat())
    assert b"dry run" in dry.stdout
    _keys(tmp_path, "retire", "--before", _first_of_month(TODAY, 0).isoformat(), "--apply")
    shown = _keys(tmp_path, "show").stdout.decode()
    assert shown.count("retired on") == 2 and shown.count("held") == 1

    for n, day in enumerate(days):
        result = meldpunt(
            "open",
            str(backup / f"b{n}.tar"),
            "-i",
            str(tmp_path / "staff.age"),
            "--passphrase-file",
            str(tmp_path / "pass"),
            "--out",
            str(tmp_path / f"after{n}"),
        )
        if n < 2:
            assert result.returncode != 0
            assert f"the period starting {day.isoformat()} was retired on {TODAY.isoformat()}" in result.stderr.decode()
        else:
            assert result.returncode == 0 and b"Opened 1 of 1" in result.stdout, result.stderr


def _weekly_keys(tmp_path, name: str, start: datetime.date) -> None:
    """Two weekly period keys from `start`, unprotected: tmp_path/NAME.txt and NAME.schedule."""
    meldpunt(
        "keygen",
        "--periods",
        "2",
        "--period",
        "week",
        "--start",
        start.isoformat(),
        "--no-passphrase",
        "-o",
        str(tmp_path / f"{name}.txt"),
        "--schedule",
        str(tmp_path / f"{name}.schedule"),
        check=True,
    )


def test_the_server_refuses_to_start_without_a_period_for_today_and_warns_before_the_end(tmp_path):
    (tmp_path / "pass").write_text("a long enough passphrase for tests\n")
    _weekly_keys(tmp_path, "old", TODAY - datetime.timedelta(days=30))
    (tmp_path / "old.toml").write_text('schedules = ["old.schedule"]\ndata_dir = "data"\n[hotline]\nname = "T"\n')
    refused = subprocess.run(
        [
            sys.executable,
            "-m",
            "onion_service.process",
            "--config",
            str(tmp_path / "old.toml"),
            "--bind",
            "127.0.0.1:0",
        ],
        capture_output=True,
        timeout=60,
    )
    assert refused.returncode == 1
    assert f"has no period for {TODAY.isoformat()}" in refused.stderr.decode()

    _weekly_keys(tmp_path, "new", TODAY - datetime.timedelta(days=3))
    (tmp_path / "new.toml").write_text(
        'schedules = ["new.schedule"]\ndata_dir = "data"\nschedule_warn_days = 30\n[hotline]\nname = "T"\n'
    )
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "onion_service.process",
            "--config",
            str(tmp_path / "new.toml"),
            "--bind",
            "127.0.0.1:0",
        ],
        stderr=subprocess.PIPE,
    )
    try:
        line = server.stderr.readline().decode()
        assert "warning: the key schedule runs out in 11 days" in line, line
    finally:
        server.terminate()
        server.wait(30)

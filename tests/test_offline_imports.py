"""The offline side (crypto/ and the CLI) must run on the air-gapped machine, which has only
the standard library, cryptography and click: importing it must load nothing of the server."""

from __future__ import annotations

import subprocess
import sys

from tests.kit import ROOT

SERVER_PACKAGES = tuple(
    "flask werkzeug stem sqlalchemy gunicorn jinja2 itsdangerous flask_babel psycopg onion_service".split()
)

PROBE = r"""
import importlib, pkgutil, sys
import crypto, meldpunt.cli
for info in pkgutil.walk_packages(crypto.__path__, "crypto."):
    if not info.name.endswith(".__main__"):  # running it would start the command
        importlib.import_module(info.name)
# Build the CLI's help and run an offline command, as a staff member would.
from click.testing import CliRunner
runner = CliRunner()
assert runner.invoke(meldpunt.cli.main, ["--help"]).exit_code == 0
assert runner.invoke(meldpunt.cli.main, ["keygen", "--help"]).exit_code == 0
assert runner.invoke(meldpunt.cli.main, ["case", "queue", "--help"]).exit_code == 0
assert "crypto.case.importing" in sys.modules  # the walk reached the case file's package
loaded = sorted({name.split(".")[0] for name in sys.modules})
print("\n".join(loaded))
"""


def test_crypto_and_cli_load_no_server_module():
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    loaded = set(result.stdout.split())
    assert "crypto" in loaded and "cryptography" in loaded and "click" in loaded  # the probe ran
    assert not loaded & set(SERVER_PACKAGES), sorted(loaded & set(SERVER_PACKAGES))
    # The `stats` extra is imported only when `case stats` draws its charts (crypto/case/stats_charts.py).
    assert not loaded & {"matplotlib", "numpy", "PIL", "fontTools"}, sorted(loaded)


def test_offline_dependencies_are_declared_alone():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = {dep.split(">")[0].split("=")[0].split("<")[0].strip().lower() for dep in project["dependencies"]}
    assert names == {"cryptography", "click"}

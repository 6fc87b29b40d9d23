"""Fixtures for the fault tests (issue 7): crashes, full disks, a database that goes away,
floods, slow clients, Tor restarts and fuzzing. Every server they start is stopped in a finally."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # faultkit, when this directory is not the rootdir's

from faultkit import new_staff  # noqa: E402


@pytest.fixture(scope="session")
def fault_staff():
    return new_staff()

"""The staff tests' fixtures."""

from __future__ import annotations

import pytest

from crypto.age import keys


@pytest.fixture
def staff_key(tmp_path, staff):
    """The session's staff key (tests/conftest.py) and that key as an identity file, for `-i`."""
    identity = staff.identities[0]
    key = tmp_path / "staff.key"
    key.write_text(keys.identity_file_text(identity))
    return identity, key

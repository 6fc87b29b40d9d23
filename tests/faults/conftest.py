"""The fault tests (issue 7): crashes, full disks, a database that goes away, floods, slow
clients, Tor restarts and fuzzing. Every server they start is stopped in a finally; the staff key
they seal to is the session's `staff` (tests/conftest.py)."""

from __future__ import annotations

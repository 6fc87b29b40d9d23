"""Server commands of `meldpunt` (loaded lazily by crypto/cli.py).

Each command only parses its arguments and calls into the package; domain errors derive from
crypto.errors.Error and are turned into messages by the group in crypto/cli.py.
"""

from __future__ import annotations

import click

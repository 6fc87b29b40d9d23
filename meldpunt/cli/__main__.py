"""`python -m meldpunt.cli`: the same `meldpunt` command, for a venv whose scripts are not on PATH."""

import sys

from meldpunt.cli import main

sys.exit(main())

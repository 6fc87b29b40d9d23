"""`python -m crypto.cli`: the same `meldpunt` command, for a venv whose scripts are not on PATH."""

import sys

from crypto.cli import main

sys.exit(main())

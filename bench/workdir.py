"""A bench's temporary directory: removed afterwards, or kept (and named) with --keep."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def workdir(name: str, keep: bool) -> Iterator[Path]:
    work = Path(tempfile.mkdtemp(prefix=f"meldpunt-bench-{name}-"))
    try:
        yield work
    finally:
        if keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work)

"""What `meldpunt case stats` computes (crypto/case/stats.py) and writes out (crypto/case/stats_output.py):
tables of cells, where a cell is a count, a label, or a figure that keeps what it was computed from
(a share's whole, a ratio's two counts), so that the output can suppress small counts in each."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass, field

from crypto.case.stats_periods import Campaign, Period


@dataclass(frozen=True)
class Share:
    part: int
    whole: int


@dataclass(frozen=True)
class Days:
    """A number of days computed over `basis` addresses (None when there were none)."""

    value: int | None
    basis: int


@dataclass(frozen=True)
class Ratio:
    now: int
    then: int


Cell = int | str | Share | Days | Ratio


@dataclass(frozen=True)
class Table:
    name: str  # the CSV file's stem
    title: str
    columns: tuple[str, ...]
    rows: Sequence[Sequence[Cell]]
    note: str = ""


@dataclass(frozen=True)
class Stats:
    period: Period
    by: str
    as_of: datetime.date
    tables: list[Table]
    campaigns: list[Campaign] = field(default_factory=list)

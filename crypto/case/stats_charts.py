"""The charts of the statistics page (crypto/case/stats_output.py), drawn by matplotlib as SVG
text that the page holds inline.

matplotlib is the `stats` extra (pyproject.toml; requirements/stats.lock for the offline machine),
not a dependency of the offline side: it is imported here, in `library()`, only when a page is
drawn, so that crypto/ still imports with cryptography, click and the stdlib alone
(tests/test_offline_imports.py). Without it the page has its tables and says how to get the charts.

The page must open offline, print, and work with JavaScript off, and the same case file must give
the same page: each chart is drawn with matplotlib's defaults (not the machine's matplotlibrc), its
letters as paths from the font matplotlib ships (no font looked up or loaded), no date in it and a
fixed salt for its ids; then its ids are prefixed with the chart's own, since six charts share one
page. Each is role="img" named by its <title>; the page puts the same figures in a table beside it
for screen readers. A suppressed value (a small count) is drawn as no bar, with its text ("< 5") on
the bar charts, so the drawing never shows more than the table does.
"""

from __future__ import annotations

import html
import importlib
import io
import math
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # for the types only: imported when drawn, in library()
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

INSTALL_HINT = "pip install meldpunt[stats]"
# Colours with at least 4.5:1 contrast on white (WCAG AA), also readable printed in grey.
BAR = "#1f5f99"
MARK = "#a3290b"
INK = "#222222"
GRID = "#bbbbbb"
# Settings over matplotlib's defaults: text as paths in the font matplotlib ships (DejaVu Sans), so
# nothing is looked up on the machine or loaded by the page, and ids from a fixed salt, not a random one.
RC = {
    "svg.fonttype": "path",
    "svg.hashsalt": "meldpunt-case-stats",
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans"],
    "font.size": 9,
    "text.color": INK,
    "axes.edgecolor": INK,
    "axes.labelcolor": INK,
    "xtick.color": INK,
    "ytick.color": INK,
}
# No <metadata>: no creation date (the same case file gives the same page), no addresses of vocabularies.
NO_METADATA = {"Date": None, "Creator": None, "Format": None, "Type": None}
MAX_COLUMNS = 120  # more buckets (days of a year) are drawn as one outline: a bar each took 5 s for 3,650
MAX_LABEL = 34  # characters of a category's name on a bar chart; the table has it whole
WIDTH = 7.6  # inches, as matplotlib measures a figure; the page scales the SVG to its width
TICK = 7 / 72  # inches from an axis to its labels: a tick and its pad, 3.5 points each (matplotlib's defaults)
SLANT = math.radians(40)  # of the labels under the columns


@dataclass(frozen=True)
class Point:
    label: str
    value: int | None  # None: suppressed, drawn empty
    text: str  # what the table shows for it


def library() -> ModuleType | None:
    """matplotlib if the `stats` extra is installed, else None; imported on the first call only."""
    try:
        import matplotlib
    except ImportError:
        return None
    return matplotlib


def import_early() -> threading.Thread:
    """Starts importing what drawing needs (half a second of CPU) in a thread of its own, while the
    case file is counted: the counting runs in SQLite, which lets go of the GIL, so on a machine of
    two cores the import is mostly done when the counts are. Without matplotlib the thread ends at once."""

    def run() -> None:
        try:
            for name in ("matplotlib.figure", "matplotlib.backends.backend_svg", "matplotlib.ticker"):
                importlib.import_module(name)
        except ImportError:
            pass  # library() says so where the page is drawn

    thread = threading.Thread(target=run, name="import-matplotlib", daemon=True)
    thread.start()
    return thread


def bar_chart(chart_id: str, title: str, points: list[Point]) -> str:
    """Horizontal bars, one a row, the first on top, each with its figure as the table shows it:
    for categories (kinds, countries, days to removal)."""
    with _drawing() as (new_figure, size):
        labels = [p.label[:MAX_LABEL] for p in points]
        left = 0.1 + TICK + max([size(label)[0] for label in labels] + [0])
        fig, ax = new_figure(WIDTH, 0.6 + 0.27 * max(1, len(points)), left=left, bottom=0.45)
        rows = range(len(points))
        values = [p.value or 0 for p in points]
        ax.barh(rows, values, height=0.7, color=BAR)
        ax.set_yticks(rows, labels)
        ax.invert_yaxis()
        top = max(values + [1])
        for row, p in zip(rows, points, strict=True):
            ax.text((p.value or 0) + top * 0.01, row, p.text, va="center")
        ax.set_xlim(0, top * 1.12)  # room for the last figure
        _plain_axes(ax, grid="x")
        return _svg(fig, chart_id, title)


def column_chart(chart_id: str, title: str, points: list[Point], markers: list[tuple[int, str]]) -> str:
    """Columns over time (reports per day, week, month or year) with campaign dates marked as
    dashed lines labelled with their tag; `markers` are (index into points, tag)."""
    with _drawing() as (new_figure, size):
        from matplotlib.ticker import MaxNLocator

        values = [p.value or 0 for p in points]
        every = max(1, round(len(points) / 12))  # about twelve labels under the axis
        ticks = list(range(0, len(points), every))
        labels = [size(points[i].label) for i in ticks]
        # The y axis's longest figure is at most the top's; the labels under the axis are slanted.
        left = 0.1 + max(
            TICK + size(str(max(values + [1])))[0],
            max([w * math.cos(SLANT) + h * math.sin(SLANT) for w, h in labels] + [0]),
        )
        bottom = 0.1 + TICK + max([w * math.sin(SLANT) + h * math.cos(SLANT) for w, h in labels] + [0])
        fig, ax = new_figure(WIDTH, 3.4, left=left, bottom=bottom, top=0.3)
        if len(points) <= MAX_COLUMNS:
            ax.bar(range(len(points)), values, width=0.8, color=BAR)
        else:
            ax.stairs(values, [i - 0.5 for i in range(len(points) + 1)], fill=True, color=BAR)
        ax.set_xticks(ticks, [points[i].label for i in ticks], rotation=40, ha="right", rotation_mode="anchor")
        ax.set_xlim(-0.6, len(points) - 0.4)
        ax.set_ylim(0, max(values + [1]) * 1.08)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # reports are whole
        for number, (i, tag) in enumerate(markers, start=1):
            # gid: the mark's group keeps an id of its own (prefixed below), for the page's tests.
            ax.axvline(i, color=MARK, linewidth=1.5, linestyle=(0, (5, 3)), gid=f"campaign-{number}")
            right_half = i > len(points) / 2  # the tag on the side with room for it
            ax.annotate(
                tag,
                (i, 1),
                xycoords=("data", "axes fraction"),
                xytext=(-3 if right_half else 3, 2),
                textcoords="offset points",
                color=MARK,
                va="bottom",
                ha="right" if right_half else "left",
            )
        _plain_axes(ax, grid="y")
        return _svg(fig, chart_id, title)


@contextmanager
def _drawing() -> Iterator[tuple[Callable[..., tuple[Figure, Axes]], Callable[[str], tuple[float, float]]]]:
    """matplotlib's defaults with RC, whatever the machine's matplotlibrc says; yields a maker of
    a figure and its axes, with margins in inches, on a figure that needs no display (no pyplot: nothing
    global is kept between charts), and the size of a text in inches (width, height).

    The margins are measured from the labels here, not by matplotlib's layout engines, which draw
    each chart a first time to measure it: that was half the time of drawing (bench/README.md)."""
    matplotlib = library()
    if matplotlib is None:
        raise RuntimeError(f"drawing a chart needs matplotlib: {INSTALL_HINT}")  # callers check library() first
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import text_to_path

    def new_axes(
        width: float, height: float, *, left: float, bottom: float, top: float = 0.1, right: float = 0.2
    ) -> tuple[Figure, Axes]:
        fig = Figure(figsize=(width, height), facecolor="white")
        fig.subplots_adjust(left=left / width, right=1 - right / width, bottom=bottom / height, top=1 - top / height)
        return fig, fig.add_subplot()

    with matplotlib.rc_context():
        matplotlib.rcdefaults()
        matplotlib.rcParams.update(RC)
        font = FontProperties()  # RC's

        def size(text: str) -> tuple[float, float]:
            width, height, _ = text_to_path.get_text_width_height_descent(text, font, ismath=False)
            return width / 72, height / 72

        yield new_axes, size


def _plain_axes(ax: Axes, grid: Literal["x", "y"]) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.grid(axis=grid, color=GRID, linewidth=0.6)
    ax.set_axisbelow(True)


# Every id matplotlib writes and every reference to one (href="#…", url(#…)) are inside the chart.
_IDS = re.compile(r'(\bid="|href="#|url\(#)')


def _svg(fig: Figure, chart_id: str, title: str) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata=NO_METADATA)
    text = buf.getvalue()
    start = text.index("<svg ")  # after the XML declaration and the DOCTYPE, which a page does not take
    text = re.sub(r"<!--.*?-->\n?", "", text[start:], flags=re.S)  # matplotlib's copy of each text
    text = _IDS.sub(lambda m: m.group(1) + chart_id + "-", text)
    head_end = text.index(">")
    name = html.escape(title, quote=True)
    return (
        f'{text[:head_end]} role="img" aria-labelledby="{chart_id}-t">'
        f'<title id="{chart_id}-t">{name}</title>{text[head_end + 1 :]}'
    ).rstrip("\n")

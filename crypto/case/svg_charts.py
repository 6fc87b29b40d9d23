"""Small charts as inline SVG for the statistics page (crypto/case/stats_output.py), stdlib only.

The page must open offline, print, and work with JavaScript off, so a chart is plain SVG text in
the page: no script, no font or image loaded. Each chart is role="img" named by its <title>;
the page puts the same figures in a table beside it for screen readers. A suppressed value
(a small count) is drawn as no bar at all with its text ("< 5"), so the drawing never shows
more than the table does.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

# Colours with at least 4.5:1 contrast on white (WCAG AA), also readable printed in grey.
BAR = "#1f5f99"
MARK = "#a3290b"
INK = "#222222"
GRID = "#bbbbbb"


@dataclass(frozen=True)
class Point:
    label: str
    value: int | None  # None: suppressed, drawn empty
    text: str  # what the table shows for it


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _nice_max(values: list[int]) -> int:
    """The axis's top: the first of 1, 2, 5, 10, 20, 50, … not below the largest value."""
    top = max([v for v in values if v is not None] + [1])
    scale = 1
    while True:
        for m in (1, 2, 5):
            if m * scale >= top:
                return m * scale
        scale *= 10


def bar_chart(chart_id: str, title: str, points: list[Point], *, width: int = 640) -> str:
    """Horizontal bars, one a row: for categories (kinds, countries, days to removal)."""
    row, label_w, text_w = 22, 220, 70
    height = row * len(points) + 30
    top = _nice_max([p.value for p in points if p.value is not None])
    span = width - label_w - text_w
    out = [_open(chart_id, title, width, height)]
    for i, p in enumerate(points):
        y = 10 + i * row
        out.append(f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end">{_e(p.label[:34])}</text>')
        if p.value:
            w = max(1, round(span * p.value / top))
            out.append(f'<rect x="{label_w}" y="{y + 3}" width="{w}" height="{row - 6}" fill="{BAR}"/>')
        else:
            w = 0
        out.append(f'<text x="{label_w + w + 4}" y="{y + 15}">{_e(p.text)}</text>')
    out.append(f'<line x1="{label_w}" y1="8" x2="{label_w}" y2="{height - 18}" stroke="{INK}"/>')
    out.append("</svg>")
    return "".join(out)


def column_chart(chart_id: str, title: str, points: list[Point], markers: list[tuple[int, str]], *,
                 width: int = 760, height: int = 300) -> str:
    """Columns over time (reports per day, week, month or year) with campaign dates marked as
    dashed lines labelled with their tag; `markers` are (index into points, tag)."""
    left, right, top_pad, bottom = 50, 10, 30, 60
    plot_w, plot_h = width - left - right, height - top_pad - bottom
    top = _nice_max([p.value for p in points if p.value is not None])
    n = max(1, len(points))
    slot = plot_w / n
    out = [_open(chart_id, title, width, height)]
    parts = next(p for p in (5, 4, 2, 1) if top % p == 0)  # whole figures on the y axis
    for k in range(parts + 1):  # horizontal grid and the y axis's figures
        v = top * k // parts
        y = top_pad + plot_h - plot_h * v / top
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="{GRID}"/>')
        out.append(f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{v}</text>')
    every = max(1, round(n / 12))  # at most about twelve labels under the axis
    for i, p in enumerate(points):
        x = left + i * slot
        if p.value:
            h = plot_h * p.value / top
            out.append(f'<rect x="{x + slot * 0.1:.1f}" y="{top_pad + plot_h - h:.1f}" width="{max(slot * 0.8, 0.5):.1f}"'
                       f' height="{h:.1f}" fill="{BAR}"/>')
        if i % every == 0:
            cx = x + slot / 2
            out.append(f'<text x="{cx:.1f}" y="{top_pad + plot_h + 14}" text-anchor="end"'
                       f' transform="rotate(-40 {cx:.1f} {top_pad + plot_h + 14})">{_e(p.label)}</text>')
    for i, tag in markers:
        x = left + i * slot + slot / 2
        out.append(f'<line x1="{x:.1f}" y1="{top_pad - 6}" x2="{x:.1f}" y2="{top_pad + plot_h}" stroke="{MARK}"'
                   ' stroke-width="2" stroke-dasharray="5 3"/>')
        out.append(f'<text x="{x + 3:.1f}" y="{top_pad - 10}" fill="{MARK}">{_e(tag)}</text>')
    out.append(f'<line x1="{left}" y1="{top_pad + plot_h}" x2="{width - right}" y2="{top_pad + plot_h}" stroke="{INK}"/>')
    out.append("</svg>")
    return "".join(out)


def _open(chart_id: str, title: str, width: int, height: int) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="{chart_id}-t" width="{width}"'
            f' height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12" fill="{INK}">'
            f'<title id="{chart_id}-t">{_e(title)}</title>')

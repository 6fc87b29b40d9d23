"""The statistics written out: one CSV per table and one self-contained HTML page with charts.

Anything meant to leave the hotline shows a count below the threshold (default 5) as "< 5", so
that no reporter or small case can be singled out; a share, a ratio or a number of days computed
from such a count is shown as "suppressed". `internal=True` writes every figure exactly, and the
page says so at its top. Totals are not re-suppressed (a total minus the visible rows can narrow a
hidden cell): the tables here are chosen so that each stands on its own.

The page loads nothing and runs nothing: a Content-Security-Policy forbids it, the charts are
inline SVG drawn by matplotlib (crypto/case/stats_charts.py), and it prints as it shows. Without
matplotlib (the `stats` extra) the page has every table and says how to get the charts.
"""

from __future__ import annotations

import csv
import html
import io
import os

from crypto.case.errors import InputError
from crypto.case.schema import private_dir
from crypto.case.stats_charts import INSTALL_HINT, Point, bar_chart, column_chart, library
from crypto.case.stats_periods import bucket_label, bucket_of
from crypto.case.stats_tables import Days, Ratio, Share, Stats, Table
from crypto.staff import folder
from crypto.staff.listings import guard_cell
from crypto.staff.page_head import page_start

DEFAULT_THRESHOLD = 5
SUPPRESSED = "suppressed"
NOT_APPLICABLE = "n/a"
HTML_NAME = "stats.html"
MAX_COUNTRY_BARS = 20  # the chart of hosting countries shows the largest; the table has them all
NO_CHARTS = (
    f"The charts need matplotlib, which this installation lacks: {INSTALL_HINT} (offline: the wheels of "
    "requirements/stats.lock, as README.md says). Every figure is in the tables."
)

STYLE = """
body{font-family:sans-serif;margin:2em auto;max-width:60em;color:#222;background:#fff;line-height:1.4}
h1{font-size:1.6em}h2{font-size:1.25em;margin-top:2em;border-bottom:1px solid #888}
table{border-collapse:collapse;margin:0.5em 0}th,td{border:1px solid #888;padding:0.2em 0.6em;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}caption{text-align:left;font-weight:bold;padding:0.3em 0}
.note{color:#444}.banner{border:2px solid #a3290b;padding:0.5em 1em}
figure{margin:0.5em 0}svg{max-width:100%;height:auto}
@media print{body{margin:0;max-width:none}section{break-inside:avoid}}
"""


def cell_text(cell: object, threshold: int, internal: bool) -> str:
    """A figure as people read it, small counts hidden unless internal."""
    small = (lambda n: 0 < n < threshold) if not internal else (lambda n: False)
    if isinstance(cell, bool) or cell is None:
        raise TypeError(f"not a figure: {cell!r}")
    if isinstance(cell, int):
        return f"< {threshold}" if small(cell) else str(cell)
    if isinstance(cell, Share):
        if cell.whole == 0:
            return NOT_APPLICABLE
        if small(cell.part) or small(cell.whole - cell.part) or small(cell.whole):
            return SUPPRESSED
        return f"{100 * cell.part / cell.whole:.1f}%"
    if isinstance(cell, Days):
        if cell.value is None:
            return NOT_APPLICABLE
        return SUPPRESSED if small(cell.basis) else str(cell.value)
    if isinstance(cell, Ratio):
        if cell.then == 0:
            return NOT_APPLICABLE
        if small(cell.now) or small(cell.then):
            return SUPPRESSED
        return f"{cell.now / cell.then:.2f}"
    return str(cell)


def for_output(table: Table, threshold: int, internal: bool) -> Table:
    """The table as it is written: outside the hotline, campaign tags seen on fewer than `threshold`
    reports are merged into one row, since a tag (unlike a country code) is free to choose and a
    rare one could point at the few who received it."""
    if internal or table.name != "reports_by_campaign":
        return table
    rare = [row for row in table.rows if row[0] != "(none)" and isinstance(row[1], int) and row[1] < threshold]
    if not rare:
        return table
    kept = [row for row in table.rows if row not in rare]
    total = 0
    for row in rare:
        count = row[1]
        total += count if isinstance(count, int) else 0  # `rare` holds int counts only
    merged = (f"other tags (each on fewer than {threshold} reports)", total)
    return Table(table.name, table.title, table.columns, [*kept, merged], table.note)


def table_csv(table: Table, threshold: int, internal: bool) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(table.columns)
    for row in table.rows:
        writer.writerow([guard_cell(cell_text(c, threshold, internal)) for c in row])
    return buf.getvalue()


def write_report(
    out_dir: str,
    stats: Stats,
    *,
    threshold: int = DEFAULT_THRESHOLD,
    internal: bool = False,
    force: bool = False,
    charts: bool = True,
) -> list[str]:
    """Writes DIR/<table>.csv for every table and DIR/stats.html (with charts if `charts` and
    matplotlib is installed); returns the files' names."""
    if threshold < 1:
        raise InputError("the threshold is a count of at least 1")
    if os.path.lexists(out_dir) and not force:
        raise InputError(f"{out_dir} already exists; choose another folder or give --force to write into it")
    private_dir(out_dir, create=True)
    names = []
    for table in stats.tables:
        table = for_output(table, threshold, internal)
        name = f"{table.name}.csv"
        folder.write_file(out_dir, name, table_csv(table, threshold, internal).encode("utf-8"))
        names.append(name)
    page = render_html(stats, threshold=threshold, internal=internal, charts=charts)
    folder.write_file(out_dir, HTML_NAME, page.encode("utf-8"))
    return names + [HTML_NAME]


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _points(table: Table, threshold: int, internal: bool, column: int = 1) -> list[Point]:
    out = []
    for row in table.rows:
        value = row[column]
        assert isinstance(value, int)
        hidden = not internal and 0 < value < threshold
        out.append(Point(str(row[0]), None if hidden else value, cell_text(value, threshold, internal)))
    return out


def _chart(stats: Stats, table: Table, threshold: int, internal: bool) -> str:
    cid = f"chart-{table.name}"
    if table.name == "received":
        points = _points(table, threshold, internal)
        index = {p.label: i for i, p in enumerate(points)}
        shown = [c for c in stats.campaigns if stats.period.start <= c.day <= stats.period.end]
        markers = [(index[bucket_label(bucket_of(c.day, stats.by), stats.by)], c.tag) for c in shown]
        marked = "; ".join(f"{c.tag} ({c.day})" for c in shown)
        return column_chart(
            cid,
            f"Reports received by {stats.by}" + (f"; campaign dates marked: {marked}" if marked else ""),
            points,
            markers,
        )
    if table.name in ("reports_by_kind", "removal_days", "reports_by_channel", "reports_by_place"):
        return bar_chart(cid, table.title, _points(table, threshold, internal))
    if table.name == "illegal_by_country" and table.rows:
        return bar_chart(
            cid,
            table.title + f" (the {MAX_COUNTRY_BARS} largest)",
            _points(table, threshold, internal)[:MAX_COUNTRY_BARS],
        )
    return ""


def _table_html(table: Table, threshold: int, internal: bool) -> str:
    head = "".join(f'<th scope="col">{_e(c)}</th>' for c in table.columns)
    body = []
    for row in table.rows:
        cells = [f'<th scope="row">{_e(row[0])}</th>']
        for c in row[1:]:
            cls = "" if isinstance(c, str) else ' class="n"'
            cells.append(f"<td{cls}>{_e(cell_text(c, threshold, internal))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    if not body:
        body.append(f'<tr><td colspan="{len(table.columns)}">(none in this period)</td></tr>')
    return (
        f"<table><caption>{_e(table.title)}</caption><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def render_html(
    stats: Stats, *, threshold: int = DEFAULT_THRESHOLD, internal: bool = False, charts: bool = True
) -> str:
    """The page; `charts=False` leaves the charts out without a word (the bench's tables alone)."""
    drawn = charts and library() is not None
    if internal:
        banner = (
            '<p class="banner"><strong>Internal: every figure is exact, small counts included. '
            "Not for publication; write the report again without --internal for that.</strong></p>"
        )
    else:
        banner = (
            f'<p class="banner">Counts below {threshold} are shown as \u201c&lt; {threshold}\u201d, and '
            "shares, ratios and days computed from them as \u201csuppressed\u201d, so that no reporter "
            "or small case can be singled out.</p>"
        )
    out = [
        *page_start(f"Hotline statistics, {stats.period}", STYLE),
        "<main>",
        f"<h1>Hotline statistics, {_e(stats.period)}</h1>",
        f"<p>From the case file as of {_e(stats.as_of)}, by {_e(stats.by)}. Reports are counted by the day "
        "they arrived; addresses by the day they were first reported.</p>",
        banner,
    ]
    if charts and not drawn:
        out.append(f'<p class="banner" id="no-charts">{_e(NO_CHARTS)}</p>')
    for table in stats.tables:
        table = for_output(table, threshold, internal)
        out.append(f'<section aria-labelledby="h-{table.name}"><h2 id="h-{table.name}">{_e(table.title)}</h2>')
        chart = _chart(stats, table, threshold, internal) if drawn else ""
        if chart:
            out.append(f"<figure>{chart}</figure>")
        if table.note:
            out.append(f'<p class="note">{_e(table.note)}</p>')
        out.append(_table_html(table, threshold, internal))
        out.append("</section>")
    out.append("</main></body></html>\n")
    return "\n".join(out)

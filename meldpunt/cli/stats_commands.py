"""`meldpunt case stats`: the hotline's numbers over a period (crypto/case/stats.py), written as
CSV files and one HTML page (crypto/case/stats_output.py). Registered on the `case` group by
meldpunt/cli/case_commands.py."""

from __future__ import annotations

import datetime

import click

from crypto.case.schema import database_errors, open_case
from crypto.case.stats import compute
from crypto.case.stats_charts import import_early, library
from crypto.case.stats_output import DEFAULT_THRESHOLD, NO_CHARTS, write_report
from crypto.case.stats_periods import BY, Period, parse_day, read_campaigns
from meldpunt.cli.options import case_option, file_option, folder_option


@click.command("stats", short_help="The hotline's numbers over a period, as CSV and an HTML page.")
@case_option
@click.option("--from", "start", required=True, help="First day of the period (YYYY-MM-DD).")
@click.option("--to", "end", required=True, help="Last day of the period, included (YYYY-MM-DD).")
@click.option(
    "--by",
    type=click.Choice(BY),
    default="month",
    show_default=True,
    help="The step of the reports-received table and chart.",
)
@file_option(
    "--campaigns",
    "campaigns_path",
    help="A file of campaign dates, one `YYYY-MM-DD tag` a line, marked on the chart and compared.",
)
@click.option(
    "--threshold",
    type=click.IntRange(1, 1000),
    default=DEFAULT_THRESHOLD,
    show_default=True,
    help='Counts below this are shown as "< N".',
)
@click.option("--internal", is_flag=True, help="Show every figure exactly (not for publication).")
@folder_option("--out", "out_dir", required=True, help="Folder to create (mode 0700) for the CSV files and stats.html.")
@click.option("--force", is_flag=True, help="Write into --out even if it exists.")
def stats_command(
    case_dir: str,
    start: str,
    end: str,
    by: str,
    campaigns_path: str | None,
    threshold: int,
    internal: bool,
    out_dir: str,
    force: bool,
) -> None:
    """Reports received (by day, language, place, kind, channel, campaign), addresses new and
    repeated, verdicts, age groups, hosting countries, statuses, notices and hand-offs, time to
    removal; against the previous period and a year earlier. Small counts are hidden unless --internal."""
    period = Period(parse_day(start, "--from"), parse_day(end, "--to"))
    campaigns = read_campaigns(campaigns_path) if campaigns_path else []
    open_case(case_dir).close()  # refuses a missing or unsafe case file, and brings it forward, once
    import_early()  # matplotlib's import, beside the counting
    with database_errors(case_dir):
        stats = compute(lambda: open_case(case_dir), period, by, campaigns=campaigns, as_of=datetime.date.today())
    names = write_report(out_dir, stats, threshold=threshold, internal=internal, force=force)
    if library() is None:  # the page says so too
        click.echo(f"No charts in stats.html: {NO_CHARTS}", err=True)
    click.echo(
        f"Wrote {len(names)} files to {out_dir}: open {out_dir}/stats.html"
        + (" (internal: exact figures)." if internal else f" (counts below {threshold} hidden).")
    )

"""`meldpunt serve | export | purge | statuses import | extension | demo`: the commands that run on the server.

Each command only parses its arguments and calls into onion_service, which it imports in its
body: this module loads with click alone, so the offline machine can list these commands. Domain
errors derive from crypto.errors.Error; the group in meldpunt/cli/__init__.py turns them, and a
missing server package, into one line.
"""

from __future__ import annotations

import click

from meldpunt.cli.options import config_option, file_option, folder_option

_config_option = config_option()

# -- the staff workflow's server side (export, purge) ------------------------------------------


@click.command("export", short_help="Export sealed reports to a bundle (server).")
@_config_option
@file_option(
    "--out", "out_path", required=True, help="Bundle file to write (a new name, e.g. on the removable medium)."
)
def export(config_path: str, out_path: str) -> None:
    """Export every report not yet purged into one bundle (server)."""
    from onion_service.config import load_config
    from onion_service.export import export_bundle
    from onion_service.store import open_store

    with open_store(load_config(config_path).database_url) as store:
        result = export_bundle(store, out_path)
    click.echo(
        f"Exported {result.reports} sealed reports to {out_path} "
        f"({result.previously_exported} of them were in an earlier export and are not yet acknowledged)."
    )
    click.echo("Nothing was deleted. Open the bundle offline with `meldpunt open`, then purge with its ack.")


@click.command("purge", short_help="Delete acknowledged reports (server).")
@_config_option
@file_option(
    "--ack", "ack_path", required=True, help="The acknowledgement `meldpunt open` wrote on the offline machine."
)
def purge(config_path: str, ack_path: str) -> None:
    """Delete the reports an acknowledgement lists, matched by id and hash (server)."""
    from onion_service.config import load_config
    from onion_service.purge import purge_acknowledged
    from onion_service.store import open_store

    with open_store(load_config(config_path).database_url) as store:
        result = purge_acknowledged(store, ack_path)
    click.echo(f"Deleted {result.deleted} of the {result.acknowledged} acknowledged reports.")
    if result.deleted < result.acknowledged:
        click.echo(
            f"{result.acknowledged - result.deleted} were not on the server: purged before, "
            "or not the report that was exported."
        )
    click.echo(f"{result.remaining} reports remain on the server.")


@click.group("statuses", short_help="Reporters' statuses from the offline machine (server).")
def statuses() -> None:
    """The statuses reporters see on the status page, signed offline by `meldpunt case statuses`."""


@statuses.command("import", short_help="Import a signed status file (server).")
@_config_option
@click.argument("status_file", metavar="STATUSFILE", type=click.Path(dir_okay=False))
def import_statuses(config_path: str, status_file: str) -> None:
    """Check the file's signature and version, then replace the status table with it in one
    transaction; on any error nothing changes (server)."""
    from onion_service.config import load_config
    from onion_service.statuses import import_status_file
    from onion_service.store import open_store

    config = load_config(config_path)
    with open_store(config.database_url) as store:
        result = import_status_file(config, store, status_file)
    if result.unchanged:
        click.echo(f"Status file version {result.version} is already in use; nothing changed.")
        return
    before = "none" if result.previous is None else f"version {result.previous}"
    click.echo(f"Imported status file version {result.version} ({result.entries} reports); it replaces {before}.")


# -- serving the form (web) ----------------------------------------------------------------------


@click.command("serve", short_help="Serve the reporting form (server).")
@_config_option
@click.option("--local-only", is_flag=True, help="Serve on loopback without Tor (previews).")
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=None,
    help="With --local-only: listen on 127.0.0.1:PORT instead of web.bind.",
)
def serve(config_path: str, local_only: bool, port: int | None) -> None:
    """Serve the reporting form: the web server and its onion service, or with --local-only the
    web server alone on loopback. (The web server alone as a child process, behind a tor or in
    the tests, is `python -m onion_service.process`.)"""
    from onion_service.config import load_config

    if port and not local_only:
        raise click.UsageError("--port goes with --local-only")
    config = load_config(config_path)
    if not local_only:
        from onion_service.tor.serve import serve_with_tor

        serve_with_tor(config, config_path)
        return
    from onion_service.process import server

    bind = f"127.0.0.1:{port}" if port else config.web.bind
    click.echo(f"meldpunt: serving the form on {bind} (local only, no Tor)", err=True)
    server.run(config, bind=bind)


# -- the browser extension -----------------------------------------------------------------------


@click.command("extension", short_help="Build the hotline's browser extension (server).")
@config_option("The server's configuration file: the hotline's name, web.public_hosts.")
@folder_option("--out", "out_dir", required=True, help="Directory for the unpacked extension and its zip.")
@click.option(
    "--onion-address", default=None, help="The form's onion address (default: the one of the key in data_dir)."
)
def extension(config_path: str, out_dir: str, onion_address: str | None) -> None:
    """Build the browser extension for this hotline, as a folder and a zip for the stores."""
    from pathlib import Path

    from onion_service.config import load_config
    from onion_service.extension import build

    built = build(load_config(config_path), Path(out_dir), onion_address=onion_address)
    click.echo(f"Built {built.folder} (load it unpacked to try it) and {built.zip} (for the stores).")


# -- the demo on a private Tor network (tor) -----------------------------------------------------


@click.command("demo", short_help="Run everything on a private Tor network (development).")
@folder_option(
    "--data-dir",
    default=None,
    help="Where the demo keeps its key, reports and onion address (default: ~/.local/share/meldpunt-demo).",
)
@click.option(
    "--backends",
    type=click.IntRange(1, 8),
    default=None,
    help="Run this many meldpunt backends behind one Onionbalance frontend address "
    "(needs Debian's onionbalance and --database-url).",
)
@click.option(
    "--database-url",
    default=None,
    help="The PostgreSQL database the backends share (with --backends); the demo does not run one.",
)
def demo(data_dir: str | None, backends: int | None, database_url: str | None) -> None:
    """Run everything on a private Tor network, with a demo staff key (from a checkout only)."""
    try:
        from devnet.demo import run_demo
    except ModuleNotFoundError as exc:
        if exc.name != "devnet":
            raise
        # A server install leaves devnet/ out on purpose: the demo is for development.
        raise click.UsageError("the demo runs from a checkout of meldpunt: `make demo` there") from None

    if backends is not None:
        if not database_url or not database_url.startswith("postgresql"):
            raise click.UsageError("--backends needs --database-url of a PostgreSQL database they share")
        from devnet.demo_scaleout import run_scaleout_demo

        run_scaleout_demo(data_dir, backends, database_url)
        return
    run_demo(data_dir)


COMMANDS = (serve, export, purge, statuses, extension, demo)

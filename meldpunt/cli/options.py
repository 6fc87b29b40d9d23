"""Options several commands take, each written once: the path options (a file, or a folder),
the case file, the analyst, identity and passphrase files, and the server's configuration.

This module needs click alone, like server_commands.py, so the offline machine can list every
command without the server's packages."""

from __future__ import annotations

from typing import Any

import click


def file_option(*decls: str, **attrs: Any):
    """An option naming a file (a folder is refused)."""
    return click.option(*decls, type=click.Path(dir_okay=False), **attrs)


def folder_option(*decls: str, **attrs: Any):
    """An option naming a folder (a file is refused)."""
    return click.option(*decls, type=click.Path(file_okay=False), **attrs)


def passphrase_file_option(help: str):
    return file_option("--passphrase-file", help=help)


def identities_option(help: str, **attrs: Any):
    """-i/--identity, repeatable: the age identity files to decrypt with."""
    return file_option("-i", "--identity", "identity_files", multiple=True, help=help, **attrs)


def config_option(help: str = "The server's configuration file."):
    return file_option("--config", "config_path", required=True, help=help)


case_option = folder_option(
    "--case", "case_dir", required=True, envvar="MELDPUNT_CASE", help="The case file's folder (or MELDPUNT_CASE)."
)
ANALYST_HELP = "Your name, as it goes into the audit log (or MELDPUNT_ANALYST)"
analyst_option = click.option("--analyst", required=True, envvar="MELDPUNT_ANALYST", help=ANALYST_HELP + ".")

# `meldpunt open` and `meldpunt case import`: the staff identities a bundle is opened with.
staff_identities_option = identities_option("Identity file (plain or passphrase-protected); repeatable.", required=True)
staff_passphrase_option = passphrase_file_option(
    "Read the identity files' passphrase from this file instead of asking."
)

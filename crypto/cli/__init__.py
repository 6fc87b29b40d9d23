"""The `meldpunt` command: a thin layer that parses arguments and maps domain errors to messages.

Offline commands live here. Server commands are loaded only when invoked, so that the offline
machine, which has neither Flask nor stem, can run every other command.
"""

from __future__ import annotations

import importlib
import sys

import click

from crypto.errors import Error

# command name -> ("module:attribute" of a click command that needs the server extra, short help).
# The help is written here so that `meldpunt --help` imports nothing of the server.
SERVER_COMMANDS: dict[str, tuple[str, str]] = {
    "serve": ("crypto.cli.server_commands:serve", "Serve the reporting form (server)."),
    "demo": ("crypto.cli.server_commands:demo", "Run everything on a private Tor network (server)."),
    "export": ("crypto.cli.server_commands:export", "Export sealed reports to a bundle (server)."),
    "purge": ("crypto.cli.server_commands:purge", "Delete acknowledged reports (server)."),
}


class _Group(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *SERVER_COMMANDS])

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in SERVER_COMMANDS:
            return super().get_command(ctx, name)
        module_name, attr = SERVER_COMMANDS[name][0].split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.split(".")[0] == "onion_service":
                raise
            raise click.UsageError(
                f"'meldpunt {name}' runs on the server and needs the server extra "
                f"(pip install '.[server]'); {exc.name} is not installed here"
            ) from None
        return getattr(module, attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            if name in SERVER_COMMANDS:
                rows.append((name, SERVER_COMMANDS[name][1]))
            else:
                rows.append((name, super().get_command(ctx, name).get_short_help_str()))
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def invoke(self, ctx: click.Context):
        # The one place where domain errors become messages.
        try:
            return super().invoke(ctx)
        except Error as exc:
            click.echo(f"meldpunt: {exc}", err=True)
            ctx.exit(1)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """meldpunt: anonymous reporting for CSAM hotlines, sealed with age."""


# The staff's offline commands (crypto/cli/staff_commands.py).
from crypto.cli.staff_commands import find_command, open_command  # noqa: E402

main.add_command(open_command)
main.add_command(find_command)

# The age-compatible offline commands: keygen, encrypt, decrypt (crypto/cli/age_commands.py).
from crypto.cli.age_commands import COMMANDS as _AGE_COMMANDS  # noqa: E402

for _command in _AGE_COMMANDS:
    main.add_command(_command)


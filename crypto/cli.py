"""The `meldpunt` command: a thin layer that parses arguments and maps domain errors to messages.

Offline commands live here. Server commands are loaded only when invoked, so that the offline
machine, which has neither Flask nor stem, can run every other command.
"""

from __future__ import annotations

import importlib
import sys

import click

from crypto.errors import Error

# command name -> "module:attribute" of a click command that needs the server extra.
SERVER_COMMANDS: dict[str, str] = {
    "serve": "onion_service.cli:serve",
    "demo": "onion_service.cli:demo",
    "export": "onion_service.cli:export",
    "purge": "onion_service.cli:purge",
}


class _Group(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *SERVER_COMMANDS])

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in SERVER_COMMANDS:
            return super().get_command(ctx, name)
        module_name, attr = SERVER_COMMANDS[name].split(":")
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


if __name__ == "__main__":
    sys.exit(main())

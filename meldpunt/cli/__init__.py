"""The `meldpunt` command: one click group for the offline and the server commands.

The commands only parse arguments and call into the packages; this group is the one place where
the domain's errors become messages. The server commands import the server's packages inside
their bodies, so the offline machine, which has neither Flask nor stem, can list and run every
offline command.
"""

from __future__ import annotations

import click

from crypto.errors import Error
from meldpunt.cli import age_commands, case_commands, key_commands, server_commands, staff_commands

# The server's third-party packages: a command that needs one of them on a machine without the
# server extra (the air-gapped one) gets a sentence, not a traceback.
_SERVER_PACKAGES = frozenset(
    {"flask", "flask_babel", "werkzeug", "jinja2", "itsdangerous", "stem", "sqlalchemy", "gunicorn", "psycopg", "babel"}
)


class _Group(click.Group):
    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except Error as exc:
            click.echo(f"meldpunt: {exc}", err=True)
            ctx.exit(1)
        except ModuleNotFoundError as exc:
            if not exc.name or exc.name.split(".")[0] not in _SERVER_PACKAGES:
                raise
            name = ctx.invoked_subcommand or "this command"
            click.echo(
                f"meldpunt: '{name}' runs on the server and needs the server extra "
                f"(pip install '.[server]'); {exc.name} is not installed here",
                err=True,
            )
            ctx.exit(2)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """meldpunt: anonymous reporting for CSAM hotlines, sealed with age."""


for _module in (age_commands, key_commands, staff_commands, case_commands, server_commands):
    for _command in _module.COMMANDS:
        main.add_command(_command)

"""`meldpunt keygen | encrypt | decrypt`: the age-compatible offline commands.

Only argument parsing lives here; failures are crypto.errors.Error subclasses, which the group
in meldpunt/cli/__init__.py turns into one line on stderr.
"""

from __future__ import annotations

import datetime
import os
import sys

import click

from crypto import age, files
from crypto.age import keys
from crypto.age.errors import RecipientError
from crypto.age.scrypt import ScryptIdentity, ScryptRecipient
from crypto.errors import FileError
from crypto.periods import keyring as keyring_module
from crypto.periods import schedule as schedule_module
from meldpunt.cli import passphrase
from meldpunt.cli.options import file_option, identities_option, passphrase_file_option

DEFAULT_IDENTITY_FILE = "meldpunt-identity.age"
DEFAULT_PLAIN_IDENTITY_FILE = "meldpunt-identity.txt"
DEFAULT_SCHEDULE_FILE = "meldpunt-schedule.txt"

_output_option = file_option("-o", "--output", help="Output file (default: stdout).")
_input_argument = click.argument("input", required=False, type=click.Path(dir_okay=False, allow_dash=True))


@click.command()
@click.option(
    "--pq", "kind", flag_value="pq", default=True, help="Post-quantum mlkem768x25519 key (age1pq1…), the default."
)
@click.option("--x25519", "kind", flag_value="x25519", help="Classic X25519 key (age1…).")
@file_option("-o", "--output", help=f"Identity file to create (default: {DEFAULT_IDENTITY_FILE}); never overwritten.")
@click.option("--no-passphrase", is_flag=True, help="Write the identity unprotected.")
@passphrase_file_option("Protect the identity with the first line of this file instead of asking.")
@click.option(
    "--periods",
    type=click.IntRange(1, 1200),
    default=None,
    help="Make one key per period, this many periods ahead (forward secrecy at rest).",
)
@click.option(
    "--period",
    "length",
    type=click.Choice(["week", "month", "quarter"]),
    default="month",
    show_default=True,
    help="With --periods: how long each period lasts.",
)
@click.option(
    "--start",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="With --periods: the first period's first day (default: today, UTC).",
)
@file_option(
    "--schedule",
    "schedule_out",
    default=None,
    help="With --periods: where to write the public schedule for the server "
    "(default: meldpunt-schedule.txt); never overwritten.",
)
def keygen(
    kind: str,
    output: str | None,
    no_passphrase: bool,
    passphrase_file: str | None,
    periods: int | None,
    length: str,
    start,
    schedule_out: str | None,
) -> None:
    """Make a staff key (or, with --periods, one key per period and the server's schedule); print
    its recipient (the public key) on stdout."""
    if no_passphrase and passphrase_file:
        raise click.UsageError("--no-passphrase and --passphrase-file exclude each other")
    if periods is None and (start or schedule_out):
        raise click.UsageError("--start and --schedule go with --periods")
    path = output or (DEFAULT_PLAIN_IDENTITY_FILE if no_passphrase else DEFAULT_IDENTITY_FILE)
    schedule_path = schedule_out or DEFAULT_SCHEDULE_FILE
    for taken in (path, *([schedule_path] if periods else [])):
        if os.path.lexists(taken):  # fail before asking for a passphrase; create_private re-checks
            raise FileError(f"{taken} already exists; not overwriting it")
    if periods:
        first = start.date() if start else datetime.datetime.now(datetime.UTC).date()
        keyring, schedule, end = keyring_module.generate(first, periods, length, kind)
        text = keyring.text()
        shown = schedule_module.format(schedule, comment="meldpunt key periods: public, for the server's `schedules`")
    else:
        identity = keys.generate(kind)
        text = keys.identity_file_text(identity)
    if no_passphrase:
        data = text.encode("utf-8")
    else:
        ask = passphrase.provider(passphrase_file, "Passphrase for the new identity", confirm=True)
        data = keys.protect(text, passphrase.check_new(ask()), work_factor=passphrase.work_factor())
    files.create_private(path, data)
    if periods:
        files.create_new(schedule_path, shown.encode("ascii"), mode=0o644)
        click.echo(shown, nl=False)
        click.echo(
            f"meldpunt: {periods} period keys written to {path} (mode 0600), up to {end.isoformat()}; "
            f"the schedule to {schedule_path}: give it to the server",
            err=True,
        )
        return
    click.echo(identity.recipient().encode())
    click.echo(f"meldpunt: identity written to {path} (mode 0600); keep a backup", err=True)


@click.command()
@click.option(
    "-r",
    "--recipient",
    "recipients",
    multiple=True,
    metavar="RECIPIENT",
    help="age1pq1… or age1… recipient; repeatable.",
)
@file_option(
    "-R",
    "--recipients-file",
    "recipient_files",
    multiple=True,
    metavar="FILE",
    help="File of recipients, one a line; repeatable.",
)
@click.option(
    "-p", "--passphrase", "use_passphrase", is_flag=True, help="Encrypt to a passphrase instead of recipients."
)
@passphrase_file_option("With -p: take the passphrase from the first line of this file.")
@click.option("-a", "--armor", is_flag=True, help="Write ASCII armor (PEM) instead of binary.")
@_output_option
@_input_argument
def encrypt(recipients, recipient_files, use_passphrase, passphrase_file, armor, output, input) -> None:
    """Encrypt INPUT (default: stdin) to recipients or a passphrase."""
    targets: list = [keys.parse_recipient(r) for r in recipients]
    for path in recipient_files:
        data = files.read_input(path)
        if len(data) > keys.MAX_RECIPIENTS_FILE_BYTES:
            raise RecipientError(f"{path} is too large to be a recipients file")
        try:
            targets += keys.parse_recipients_file(data.decode("utf-8"))
        except UnicodeDecodeError:
            raise RecipientError(f"{path} is not UTF-8 text") from None
        except RecipientError as exc:
            raise RecipientError(f"{path}: {exc}") from None
    if passphrase_file and not use_passphrase:
        raise click.UsageError("--passphrase-file needs -p")
    if use_passphrase:
        if targets:
            raise click.UsageError("-p cannot be combined with -r or -R")
        ask = passphrase.provider(passphrase_file, "Passphrase", confirm=True)
        targets = [ScryptRecipient(passphrase.check_new(ask()), passphrase.work_factor())]
    if not targets:
        raise click.UsageError("give at least one -r RECIPIENT, -R FILE or -p")
    _refuse_binary_to_terminal(output, armor)
    sealed = age.encrypt(files.read_input(input), targets, armor=armor)
    files.write_output(output, sealed)


@click.command()
@identities_option("Identity file, plain or passphrase-protected; repeatable.", metavar="FILE")
@passphrase_file_option("Passphrase (first line) for protected identity files or passphrase-encrypted input.")
@_output_option
@_input_argument
def decrypt(identity_files, passphrase_file, output, input) -> None:
    """Decrypt INPUT (default: stdin); nothing is written unless all of it verifies."""
    data = files.read_input(input)
    ask = passphrase.provider(passphrase_file, "Passphrase")
    identities: list = []
    for path in identity_files:
        identities += keys.load_identity_file(path, ask)
    if age.is_passphrase_encrypted(data):
        identities.append(ScryptIdentity(ask()))
    elif not identities:
        raise click.UsageError("give at least one -i FILE (the input is not passphrase-encrypted)")
    files.write_output(output, age.decrypt(data, identities))


def _refuse_binary_to_terminal(output: str | None, armor: bool) -> None:
    if (output is None or output == "-") and not armor and sys.stdout.isatty():
        raise click.UsageError("refusing to write binary ciphertext to a terminal: use -a or -o")


COMMANDS = (keygen, encrypt, decrypt)

"""`meldpunt keys show | retire`: the period identity file (crypto/periods) on the offline machine."""

from __future__ import annotations

import datetime

import click

from crypto import files
from crypto.age import keys
from crypto.periods import keyring as keyring_module
from crypto.periods.errors import KeyringError
from meldpunt.cli import passphrase
from meldpunt.cli.options import file_option, passphrase_file_option

_identity_option = file_option("-i", "--identity", required=True, help="The period identity file.")
_passphrase_option = passphrase_file_option("Its passphrase (first line).")


@click.group("keys", short_help="Key periods: show them, retire the old ones (offline).")
def keys_group() -> None:
    """The period identity file that `meldpunt keygen --periods` makes."""


def read_keyring(identity: str, passphrase_file: str | None) -> tuple[keyring_module.Keyring, str | None]:
    """The keyring and its passphrase (None for a plain file), to write it back the same way."""
    ask = passphrase.provider(passphrase_file, f"Passphrase for {identity}")
    data = keys.read_identity_file(identity)
    text = keyring_module.read_text(identity, ask)
    if not keyring_module.is_keyring(text):
        raise KeyringError(f"{identity} holds long-term keys, not key periods (meldpunt keygen --periods)")
    return keyring_module.parse(text), (ask() if keys.is_encrypted(data) else None)


@keys_group.command("show", short_help="List the periods held and retired (no secret is shown).")
@_identity_option
@_passphrase_option
def show(identity: str, passphrase_file: str | None) -> None:
    """One line per period: its first day, and whether its key is held or when it was retired."""
    ring, _ = read_keyring(identity, passphrase_file)
    for first in sorted({*ring.held, *ring.retired}):
        state = "held" if first in ring.held else f"retired on {ring.retired[first].isoformat()}"
        click.echo(f"{first.isoformat()}  {state}")


@keys_group.command("retire", short_help="Destroy the keys of periods that ended before a day.")
@_identity_option
@_passphrase_option
@click.option(
    "--before",
    "before",
    required=True,
    type=click.DateTime(["%Y-%m-%d"]),
    help="Retire every period that ended on or before this day.",
)
@click.option("--apply", "apply", is_flag=True, help="Rewrite the identity file (without it: only say what is due).")
def retire(identity: str, passphrase_file: str | None, before: datetime.datetime, apply: bool) -> None:
    """Destroy the keys of every period that ended on or before --before: every sealed copy of
    those periods' reports, on any medium or backup, can then never be opened. The identity file
    is rewritten in place (same passphrase); old copies of the file itself are not reached: see
    SECURITY.md."""
    ring, secret = read_keyring(identity, passphrase_file)
    today = datetime.datetime.now(datetime.UTC).date()
    new, due = keyring_module.retire_before(ring, before.date(), today)
    if not due:
        click.echo("No period is due: nothing to retire.")
        return
    listed = ", ".join(d.isoformat() for d in due)
    if not apply:
        click.echo(f"Due (dry run, nothing changed): the periods starting {listed}. Run again with --apply.")
        return
    write_keyring(identity, new, secret)
    click.echo(f"Retired the periods starting {listed}: their keys are gone from {identity}.")


def write_keyring(identity: str, ring: keyring_module.Keyring, secret: str | None) -> None:
    """Replaces the identity file whole (a crash leaves the old or the new one), with the same passphrase."""
    text = ring.text()
    data = keys.protect(text, secret, work_factor=passphrase.work_factor()) if secret is not None else text.encode()
    files.atomic_write(identity, data)


COMMANDS = (keys_group,)

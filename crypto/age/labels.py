"""Recipient labels (age's RecipientWithLabels): a file may be encrypted only to recipients whose
label sets are equal, so a type states what it must not be mixed with, and the core needs no list
of types. A post-quantum recipient is labelled "postquantum"; a passphrase gets a label unique to
it, so nothing can stand beside it."""

from __future__ import annotations

import secrets

POSTQUANTUM = "postquantum"
PASSPHRASE_PREFIX = "passphrase:"


def unique_passphrase_label() -> str:
    return PASSPHRASE_PREFIX + secrets.token_hex(16)

"""The lookup key: what a receipt code becomes in a status file and in the server's table.

HMAC-SHA-256 keyed with the file's random salt, over a domain-separation label and the code in
its canonical form. The server holds keys, never codes, so a seized status table says which
states exist and how often, but not which code (or report) has which.

Why a fast hash and not a slow one (scrypt, Argon2): a code carries 16 symbols from 30, about 78
random bits (crypto/envelope/receipt.py). Finding any code of a table of n entries by trying
codes costs about 2**78 / n hashes; for a million entries that is still 2**58, years of a large
GPU cluster. And a code found that way is worth nothing: it leads to no person (the reporter
never gave one), only to the very row the attacker already reads. A slow hash would instead
hand anyone who can reach the form a lever on the server's CPU, at one costly hash per lookup.

Why a salt per file: every status file draws a new one, so the keys of one report differ from
one file to the next; someone who copies the table twice cannot follow a row from one version
to the next by its key, and nothing computed for one hotline's file works for another's. A row
whose state, message and day are the only such combination in both copies still matches itself
by those values (SECURITY.md says so): hiding them would take encrypting each row under its code.
"""

from __future__ import annotations

import hashlib
import hmac

from crypto.envelope.receipt import normalise_receipt

SALT_BYTES = 32
KEY_BYTES = 32
_LABEL = b"meldpunt status lookup v1\x00"


def lookup_key(salt: bytes, receipt: str) -> bytes:
    """The key of `receipt` (as a person may type it) under this salt; ReceiptError if it is no code."""
    if len(salt) != SALT_BYTES:
        raise ValueError(f"the salt is {SALT_BYTES} bytes")
    code = normalise_receipt(receipt)
    return hmac.new(salt, _LABEL + code.encode("ascii"), hashlib.sha256).digest()

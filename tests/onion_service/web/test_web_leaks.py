"""What a security review found the web side leaking or missing (issue 14): the purge secret's
hash stored with each report, reporter guidance (tracking parameters, tor2web, the quick exit),
and one answer for every unknown method and path."""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from webkit import good_fields

HOST = {"Host": "127.0.0.1:5000"}


def submit(env, lang, fields, headers=HOST):
    return env.client.post(f"/{lang}/", data=fields, headers=headers)


def test_the_row_keeps_the_hash_of_the_secret_sealed_inside_and_nothing_of_the_secret(app_env):
    response = submit(app_env, "en", good_fields(app_env.config, "en"))
    assert response.status_code == 200
    [row] = list(app_env.store.pending())
    report = app_env.identity.open(row.sealed)
    secret = bytes.fromhex(report.purge_secret)
    with app_env.store.engine.connect() as conn:
        [stored] = conn.execute(sa.text("SELECT purge_hash FROM reports")).all()
    assert bytes(stored[0]) == hashlib.sha256(secret).digest()
    # Only decryption gives the secret: the id and the sealed bytes' hash do not delete it.
    assert app_env.store.purge([(row.id, row.digest(), None)]) == 0
    assert app_env.store.purge([(row.id, row.digest(), secret)]) == 1

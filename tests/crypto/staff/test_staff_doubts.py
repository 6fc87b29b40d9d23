"""The overview marks what the server's manifest could have got wrong or replayed: a day that
differs from the one sealed inside the report, one ciphertext or one receipt under two ids."""

from __future__ import annotations

import datetime
import re
import secrets

from crypto.staff.opening import open_bundle
from tests.crypto.staff.staffkit import make_report, new_identity, seal, write_bundle


def _checked(page: str) -> dict[str, str]:
    """Report id -> the text of its "Check:" notes (empty for an article without one)."""
    out = {}
    for rid, body in re.findall(r'<article id="r-([0-9a-f]{32})"[^>]*>(.*?)</article>', page, re.S):
        out[rid] = " ".join(re.findall(r'<p class="doubt">Check: (.*?)</p>', body))
    return out


def test_a_wrong_day_a_copied_ciphertext_and_a_repeated_receipt_are_marked(tmp_path):
    identity, _ = new_identity(tmp_path)
    recipients = [identity.recipient()]
    day = datetime.date(2026, 11, 20)  # make_report seals received_on 2026-11-20
    plain, shifted, copied = make_report(1), make_report(2), make_report(3)
    receipt_twice = make_report(4)
    same_receipt = make_report(5, receipt=receipt_twice.receipt)
    copied_sealed = seal(copied, recipients)
    ids = {name: secrets.token_bytes(16) for name in ("plain", "shifted", "copy1", "copy2", "r1", "r2")}
    write_bundle(
        tmp_path / "b.tar",
        [
            (ids["plain"], seal(plain, recipients), day),
            (ids["shifted"], seal(shifted, recipients), day - datetime.timedelta(days=3)),
            (ids["copy1"], copied_sealed, day),
            (ids["copy2"], copied_sealed, day),
            (ids["r1"], seal(receipt_twice, recipients), day),
            (ids["r2"], seal(same_receipt, recipients), day),
        ],
    )
    open_bundle(str(tmp_path / "b.tar"), [identity], str(tmp_path / "out"), workers=1)
    page = (tmp_path / "out" / "index.html").read_text()
    checked = _checked(page)
    assert checked[ids["plain"].hex()] == ""
    assert "2026-11-17 differs from the day sealed inside, 2026-11-20" in checked[ids["shifted"].hex()]
    assert all("same sealed bytes" in checked[ids[k].hex()] for k in ("copy1", "copy2"))
    assert all("same receipt code" in checked[ids[k].hex()] for k in ("r1", "r2"))
    assert "5 reports are marked" in page

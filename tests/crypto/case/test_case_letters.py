"""Letters as a workflow (issue 28.6): a reference per letter, the reply address from
configuration, stable file names, refused addresses listed with the reason, and --mark-sent
recording the status and reference for exactly the addresses in the letters written."""

from __future__ import annotations

import datetime

import pytest

from crypto.case.letters import FILE_NAME
from crypto.case.normalise import address_key
from tests.crypto.case.casekit import case_assess, db, imported_case, ok, run
from tests.crypto.staff.staffkit import make_report

DAY = datetime.date(2026, 11, 20)
A = ("--analyst", "Analyst One")
URLS = {
    "a": "http://a.test/1",
    "b": "http://b.test/2",
    "c": "http://no-provider.test/",
    "d": "http://" + "x" * 56 + ".onion/g",
    "e": "ab" * 20,
    "f": "http://legal.test/",
}


@pytest.fixture
def case(tmp_path):
    reports = [make_report(n, urls=(url,), child_in_danger=False) for n, url in enumerate(URLS.values())]
    case = imported_case(tmp_path, [(r, DAY) for r in reports], kind="x25519")
    with db(case) as conn:
        by_key = dict(conn.execute("SELECT key, id FROM addresses"))
    ids = {name: str(by_key[address_key(url)]) for name, url in URLS.items()}
    case_assess(case, *A, "--verdict", "baseline", "--provider", "Host A", ids["a"], ids["d"], ids["e"])
    case_assess(case, *A, "--verdict", "national", "--provider", " host  a ", ids["b"])
    case_assess(case, *A, "--verdict", "baseline", ids["c"])
    case_assess(case, *A, "--verdict", "not-illegal", "--provider", "Host A", ids["f"])
    config = tmp_path / "letters.toml"
    config.write_text('[letters]\nsender = "Testmeldpunt"\nreply_to = "ntd@meldpunt.test"\nreference_prefix = "MPT"\n')
    return case, ids, config


def _letters(case, config, out, *extra):
    return run("case", "letters", "--case", case, "--config", config, "--out", out, *extra)


def test_letters_carry_a_reference_and_the_reply_address_and_list_what_they_refuse(case, tmp_path):
    case, ids, config = case
    out = tmp_path / "letters"
    result = _letters(case, config, out)
    assert result.exit_code == 0, result.output
    (name,) = [p.name for p in out.iterdir() if p.name != "index.txt"]
    assert FILE_NAME.fullmatch(name) and name.startswith("MPT-") and name.endswith("-host-a-en.txt")
    reference = name[: len("MPT-20261207-ABCDEF12")]
    text = (out / name).read_text()
    assert f"Reference: {reference}" in text and "Reply to: ntd@meldpunt.test" in text
    assert f"writing to ntd@meldpunt.test, quoting reference {reference}" in text
    listed = {line.strip() for line in text.splitlines() if line.startswith("  http")}
    assert listed == {URLS["a"], URLS["b"]}  # not the onion, the info-hash, the unhosted or the legal one
    # Each refused address is named with its reason, on the terminal and in the index.
    index = (out / "index.txt").read_text()
    for key, reason in (("c", "no hosting provider"), ("d", "onion address"), ("e", "info-hash")):
        assert f"address {ids[key]} " in result.stderr and reason in result.stderr
        assert f"refused  address {ids[key]} " in index
    assert ids["f"] not in {w for line in index.splitlines() for w in line.split()}
    # The same letters again give the same names and references.
    assert _letters(case, config, out).exit_code == 0
    assert sorted(p.name for p in out.iterdir()) == sorted([name, "index.txt"])


def test_stale_letters_are_refused_then_removed_with_force(case, tmp_path):
    case, ids, config = case
    out = tmp_path / "letters"
    assert _letters(case, config, out).exit_code == 0
    (old,) = [p.name for p in out.iterdir() if p.name != "index.txt"]
    case_assess(case, *A, "--verdict", "not-illegal", ids["b"])  # the letter changes
    result = _letters(case, config, out)
    assert result.exit_code != 0 and old in result.output and "--force" in result.output
    assert _letters(case, config, out, "--force").exit_code == 0
    (new,) = [p.name for p in out.iterdir() if p.name != "index.txt"]
    assert new != old and FILE_NAME.fullmatch(new)
    (out / "notes.txt").write_text("mine")
    case_assess(case, *A, "--verdict", "baseline", ids["b"])
    result = _letters(case, config, out, "--force")
    assert result.exit_code != 0 and "notes.txt, which is not a letter" in result.output
    assert (out / "notes.txt").exists()


def test_mark_sent_records_exactly_the_addresses_written_with_their_reference(case, tmp_path):
    case, ids, config = case
    out = tmp_path / "letters"
    result = _letters(case, config, out, "--mark-sent", *A)
    assert result.exit_code == 0, result.output
    (name,) = [p.name for p in out.iterdir() if p.name != "index.txt"]
    reference = name[: len("MPT-20261207-ABCDEF12")]
    with db(case) as conn:
        statuses = dict(conn.execute("SELECT id, status FROM addresses"))
        refs = dict(conn.execute("SELECT address, reference FROM tracks WHERE track = 'takedown'"))
    sent = {int(ids["a"]), int(ids["b"])}
    assert {aid for aid, s in statuses.items() if s == "notice-sent"} == sent
    assert refs == {aid: reference for aid in sent}
    assert {statuses[int(ids[k])] for k in "cdef"} == {"assessed"}
    ok("case", "verify", "--case", case)
    # Nothing left with the status "assessed" to write about: nothing written, nothing marked.
    again = _letters(case, config, tmp_path / "second", "--mark-sent", *A)
    assert again.exit_code == 0 and "No letter to write" in again.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--reply-to", "not an address"), "reply address"),
        (("--sender", "Bad\u202eName"), "sender"),
    ],
)
def test_letter_settings_are_checked(case, tmp_path, args, message):
    case, ids, config = case
    result = _letters(case, config, tmp_path / "l", *args)
    assert result.exit_code != 0 and message in result.output
    result = run("case", "letters", "--case", case, "--sender", "X", "--out", tmp_path / "l")
    assert result.exit_code != 0 and "reply address" in result.output


def test_the_example_configuration_is_valid():
    from pathlib import Path

    from crypto.case.letters import settings

    example = Path(__file__).resolve().parents[3] / "deploy" / "letters.toml.example"
    chosen = settings(str(example), None, None, None)
    assert (chosen.reply_to, chosen.prefix) == ("ntd@example.org", "NTD")

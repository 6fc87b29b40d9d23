"""Random forms and random bodies never make the server answer 5xx; address syntax checks."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from onion_service.store import open_store
from onion_service.web.app import create_app
from onion_service.web.validate import is_address
from tests.formkit import form_body, token
from tests.harness import make_config
from tests.pg import backend_url

FIELDS = ["urls", "found_on", "kinds", "access", "seen_on", "description", "danger", "contact", "token", "homepage"]
CODES = ["website", "forum", "p2p", "onion", "other", "images", "videos", "drawn", "yes", "no", ""]


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def fuzz_app(request, tmp_path_factory, staff):
    data = tmp_path_factory.mktemp("fuzz") / "data"
    data.mkdir(mode=0o700)
    with backend_url(request, "f") as url:
        config = make_config(data, staff.recipient, database_url=url, form_min_seconds=0)
        store = open_store(config.database_url)
        yield config, create_app(config, store=store).test_client()
        store.close()


values = st.one_of(
    st.sampled_from(CODES), st.text(max_size=300), st.text(alphabet=st.characters(max_codepoint=0x7F), max_size=50)
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    lang=st.sampled_from(["nl", "fr", "de", "en", "xx"]),
    fields=st.dictionaries(
        st.one_of(st.sampled_from(FIELDS), st.text(max_size=10)),
        st.one_of(values, st.lists(values, max_size=4)),
        max_size=12,
    ),
    valid_token=st.booleans(),
)
def test_random_forms_never_get_a_5xx(fuzz_app, lang, fields, valid_token):
    config, client = fuzz_app
    if valid_token:
        fields["token"] = token(config.data_dir, lang if lang != "xx" else "nl")
    try:
        body = form_body(fields)
    except UnicodeEncodeError:  # lone surrogates cannot be percent-encoded by a browser either
        return
    response = client.post(
        f"/{lang}/", data=body, headers={"Host": "localhost", "Content-Type": "application/x-www-form-urlencoded"}
    )
    assert response.status_code < 500, response.get_data(as_text=True)[:300]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.binary(max_size=2000),
    ctype=st.sampled_from(
        [
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "text/plain",
            "",
            "application/x-www-form-urlencoded; charset=utf-16",
        ]
    ),
    method=st.sampled_from(["POST", "PUT", "GET", "DELETE"]),
    path=st.sampled_from(["/nl/", "/", "/fr", "/x"]),
)
def test_random_bodies_never_get_a_5xx(fuzz_app, body, ctype, method, path):
    _, client = fuzz_app
    response = client.open(path, method=method, data=body, headers={"Host": "localhost", "Content-Type": ctype})
    assert 400 <= response.status_code < 500 or response.status_code == 200


ONION = "abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuvwx.onion"


@pytest.mark.parametrize(
    "text",
    [
        "http://example.org",
        "https://example.org/a/b?c=d#e",
        "example.org/page",
        "www.example.co.uk",
        "http://" + ONION + "/x",
        ONION,
        "http://sub." + ONION,
        "http://192.0.2.1:8080/x",
        "http://[2001:db8::1]/",
        "https://bücher.example/",
        "magnet:?xt=urn:btih:" + "c" * 40,
        "magnet:?xt=urn:btih:" + "A" * 32 + "&dn=x",
        "magnet:?xt=urn:btmh:1220" + "d" * 64,
        "e" * 40,
        "F" * 64,
        "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567",
    ],
)
def test_accepted_addresses(text):
    assert is_address(text)


@pytest.mark.parametrize(
    "text",
    [
        "javascript:alert(1)",
        "file:///etc/passwd",
        "ftp://example.org/",
        "data:text/html,x",
        "http://",
        "http://exa mple.org",
        "not an address",
        "localhost",
        "http://-bad-.example",
        "http://example.123",
        "http://tooshort.onion",
        "magnet:?xt=urn:btih:xyz",
        "magnet:?dn=x",
        "e" * 39,
        "http://example.org:99999/",
        "http://ex_ample.org",
        "mailto:x@example.org",
    ],
)
def test_refused_addresses(text):
    assert not is_address(text)


# The form's own body parser (onion_service/web/form.py) stands in for parse_qsl on the hot path: on
# any body it must agree with parse_qsl's strict parsing, or refuse where parse_qsl refuses.
_BODY_BYTES = st.lists(
    st.sampled_from(
        [
            b"a",
            b"kinds",
            b"=",
            b"&",
            b"+",
            b"%",
            b"%2",
            b"%41",
            b"%C3%A9",
            b"%FF",
            b"%zz",
            b"%00",
            b"\xc3\xa9",
            b" ",
            b"x=y",
        ]
    ),
    max_size=30,
).map(b"".join)


@given(_BODY_BYTES)
@settings(max_examples=400, deadline=None)
def test_the_body_parser_agrees_with_strict_parse_qsl(body):
    import urllib.parse

    from onion_service.web.form import MAX_FIELDS, _pairs

    try:
        expected = urllib.parse.parse_qsl(
            body.decode("ascii"),
            keep_blank_values=True,
            strict_parsing=bool(body),
            encoding="utf-8",
            errors="strict",
            max_num_fields=MAX_FIELDS,
        )
    except (UnicodeDecodeError, ValueError):
        expected = None
    try:
        got = _pairs(body)
    except (UnicodeDecodeError, ValueError):
        got = None
    assert got == expected

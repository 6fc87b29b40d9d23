"""Renders every page a reporter can see, in one language, and prints them as JSON.

Run as a script with a tree's packages first on sys.path (test_web_languages.py runs it in a
temporary copy of the tree that holds one more language): `python render_pages.py LANG DATA_DIR`.
Each page is (path, status, html); the status page's texts for every state and message come too,
since only a status file makes the page show them.
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

from flask_babel import force_locale

from crypto.age import keys
from crypto.status.keys import SigningKey
from onion_service.config import parse_config
from onion_service.store import open_store
from onion_service.web.app import create_app
from onion_service.web.status_texts import MESSAGE_TEXTS, STATE_TEXTS

TOKEN = re.compile(r'name="token" value="([^"]+)"')


def main(lang: str, data_dir: Path) -> None:
    recipient = keys.generate("x25519").recipient().encode()
    raw = {
        "recipients": [recipient],
        "data_dir": str(data_dir),
        "default_language": lang,
        "hotline": {
            "name": "Hotline-Name",
            "contact": "Contact-Text",
            "emergency": [{"label": "Emergency-Label", "number": "112"}],
        },
        "limits": {"form_min_seconds": 0},
        "web": {"public_hosts": ["report.example.org"]},
        "status": {"public_key": SigningKey.generate().public().encode()},
    }
    config = parse_config(raw, base_dir=data_dir)
    store = open_store(config.database_url)
    app = create_app(config, store=store)
    client = app.test_client()
    host = {"Host": "127.0.0.1"}
    pages = []

    def keep(path: str, response) -> str:
        html = response.get_data(as_text=True)
        pages.append((path, response.status_code, html))
        return html

    form = keep(f"/{lang}/", client.get(f"/{lang}/?url=http%3A%2F%2Fexample.org%2Fa", headers=host))
    token = TOKEN.search(form).group(1)
    keep("errors", client.post(f"/{lang}/", data={"token": token, "danger": "no"}, headers=host))
    keep("bad token", client.post(f"/{lang}/", data={"token": "x", "urls": "http://example.org/a"}, headers=host))
    keep(
        "bad address",
        client.post(
            f"/{lang}/",
            headers=host,
            data={
                "token": token,
                "urls": "not an address\n" + "http://example.org/" + "a" * 3000,
                "found_on": "forum",
                "kinds": "images",
                "danger": "no",
                "seen_on": "2999-01-01",
                "description": "d" * 9000,
            },
        ),
    )
    time.sleep(0.01)
    token = TOKEN.search(client.get(f"/{lang}/", headers=host).get_data(as_text=True)).group(1)
    keep(
        "thanks",
        client.post(
            f"/{lang}/",
            headers=host,
            data={
                "token": token,
                "urls": "http://example.org/a",
                "found_on": "forum",
                "kinds": "images",
                "danger": "yes",
            },
        ),
    )
    status = keep(f"/{lang}/status", client.get(f"/{lang}/status", headers=host))
    token = TOKEN.search(status).group(1)
    keep("status error", client.post(f"/{lang}/status", data={"token": token, "code": "nope"}, headers=host))
    token = TOKEN.search(client.get(f"/{lang}/status", headers=host).get_data(as_text=True)).group(1)
    keep(
        "status none",
        client.post(f"/{lang}/status", data={"token": token, "code": "K7QM-4XPA-9TNR-2HWC"}, headers=host),
    )
    keep("404", client.get(f"/{lang}/nothing-here", headers=host))
    keep("415", client.post(f"/{lang}/", data=b"x", headers={**host, "Content-Type": "multipart/form-data"}))
    keep("tor2web", client.get(f"/{lang}/", headers={**host, "X-Tor2web": "1"}))
    keep("public", client.get(f"/{lang}/", headers={"Host": "report.example.org"}))
    keep("/", client.get("/", headers=host))
    with app.test_request_context(f"/{lang}/"), force_locale(lang):
        texts = [str(t) for pair in STATE_TEXTS.values() for t in pair] + [str(t) for t in MESSAGE_TEXTS.values()]
    store.close()
    print(json.dumps({"pages": pages, "status_texts": texts}))


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))

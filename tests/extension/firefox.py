"""Debian's firefox-esr (Tor Browser's base) driven headless over WebDriver BiDi, the protocol it
speaks natively: no geckodriver, no web-ext. The built extension is installed as a temporary
add-on (webExtension.install), every request goes through the tests' recording proxy, and the
extension's own page is opened from the browser's chrome (BiDi may not navigate to
moz-extension: addresses itself), which needs --remote-allow-system-access."""

from __future__ import annotations

import json
import re
import subprocess
import threading
import time
from pathlib import Path

import websocket

FIREFOX = "/usr/bin/firefox-esr"
# A fixed moz-extension: host for the add-on, so the tests know where its pages are.
UUID = "0c0ffee0-0000-4000-8000-000000000001"
# Bounds for one step: Firefox starts in about 2 s here; a page loads in well under a second.
START_SECONDS = 60
STEP_SECONDS = 10


class BiDiError(RuntimeError):
    """A command the browser answered with an error."""


def prefs(addon_id: str, proxy_port: int) -> str:
    """user.js: the add-on's fixed host, and the proxy for everything, loopback included."""
    values = {
        "extensions.webextensions.uuids": json.dumps({addon_id: UUID}),
        "network.proxy.type": 1,
        "network.proxy.http": "127.0.0.1",
        "network.proxy.http_port": proxy_port,
        "network.proxy.ssl": "127.0.0.1",
        "network.proxy.ssl_port": proxy_port,
        "network.proxy.no_proxies_on": "",
        "network.proxy.allow_hijacking_localhost": True,
        # Tor Browser's own settings for onion services: their names are not refused, and they
        # count as secure (they authenticate themselves), as https: addresses do.
        "network.dns.blockDotOnion": False,
        "dom.securecontext.allowlist_onions": True,
        # Session restore writes its file as Firefox does for people (automation turns it off),
        # and often, so a test can read what it keeps while the tabs are open.
        "browser.sessionstore.resume_from_crash": True,
        "browser.sessionstore.interval": 200,
    }
    return "".join(f"user_pref({json.dumps(k)}, {json.dumps(v)});\n" for k, v in values.items())


class Firefox:
    def __init__(self, profile: Path, addon_id: str, proxy_port: int) -> None:
        profile.mkdir()
        (profile / "user.js").write_text(prefs(addon_id, proxy_port))
        self.profile = profile
        self.process = subprocess.Popen(
            [
                FIREFOX,
                "--headless",
                "--no-remote",
                "--profile",
                str(profile),
                "--remote-debugging-port",
                "0",
                "--remote-allow-system-access",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            address = self._listening()
            # Firefox goes on writing to stderr (its own update and settings services fail
            # offline): read it all, or a full pipe would stop the browser.
            threading.Thread(target=self.process.stderr.read, daemon=True).start()
            self.ws = websocket.create_connection(f"{address}/session", timeout=START_SECONDS, suppress_origin=True)
            self._id = 0
            self.command("session.new", capabilities={})
        except BaseException:
            self.process.kill()
            self.process.wait()
            raise

    def _listening(self) -> str:
        deadline = time.monotonic() + START_SECONDS
        for line in self.process.stderr:  # Firefox says where BiDi listens once it does
            found = re.search(r"WebDriver BiDi listening on (ws://\S+)", line)
            if found:
                return found.group(1)
            if time.monotonic() > deadline:
                break
        self.process.kill()
        raise BiDiError("firefox-esr did not start its WebDriver BiDi server")

    def command(self, method: str, **params) -> dict:
        self._id += 1
        self.ws.send(json.dumps({"id": self._id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self._id:
                if message["type"] == "error":
                    raise BiDiError(f"{method}: {message['error']}: {message['message']}")
                return message["result"]

    def contexts(self) -> list[dict]:
        return self.command("browsingContext.getTree")["contexts"]

    def evaluate(self, context: str, expression: str):
        result = self.command(
            "script.evaluate",
            expression=expression,
            target={"context": context},
            awaitPromise=True,
            serializationOptions={"maxObjectDepth": 4},
        )
        if result["type"] == "exception":
            raise BiDiError(result["exceptionDetails"]["text"])
        return deserialise(result["result"])

    def open_extension_page(self, page: str) -> str:
        """Opens the add-on's `page` in a new tab from the browser's chrome; its context id."""
        chrome = self.command("browsingContext.getTree", **{"moz:scope": "chrome"})["contexts"][0]["context"]
        url = f"moz-extension://{UUID}/{page}"
        self.evaluate(
            chrome,
            f"""(() => {{
          gBrowser.selectedTab = gBrowser.addTab({json.dumps(url)},
            {{triggeringPrincipal: Services.scriptSecurityManager.getSystemPrincipal()}});
        }})()""",
        )
        context = self.wait_for_context(lambda c: c["url"] == url)
        self.wait_for(context, "document.readyState === 'complete'")
        return context

    def wait_for_context(self, wanted) -> str:
        """The first top-level context `wanted(context)` accepts, once there is one."""
        deadline = time.monotonic() + STEP_SECONDS
        while True:
            found = [c["context"] for c in self.contexts() if wanted(c)]
            if found:
                return found[0]
            if time.monotonic() > deadline:
                raise BiDiError(f"no such page: {self.contexts()}")
            time.sleep(0.05)

    def wait_for(self, context: str, condition: str) -> None:
        """Waits until `condition` holds in the page (checked in the page itself)."""
        self.evaluate(
            context,
            f"""new Promise((resolve, reject) => {{
          const end = Date.now() + {STEP_SECONDS * 1000};
          const check = () => {{
            try {{ if ({condition}) return resolve(true); }} catch {{}}
            if (Date.now() > end) return reject(new Error("timed out: " + {json.dumps(condition)}));
            setTimeout(check, 20);
          }};
          check();
        }})""",
        )

    def close(self) -> None:
        """Quits Firefox the way a person does, so that it writes out its history and session."""
        if self.process.poll() is None:
            try:
                self.command("browser.close")
            except (BiDiError, websocket.WebSocketException):
                pass  # the connection closes as the browser quits
            try:
                self.process.wait(timeout=START_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.ws.close()


def deserialise(value: dict):
    """A BiDi remote value as Python (the shapes the tests read: primitives, arrays, objects)."""
    kind = value["type"]
    if kind in ("undefined", "null"):
        return None
    if kind == "array":
        return [deserialise(v) for v in value.get("value", [])]
    if kind == "object":
        return {k: deserialise(v) for k, v in value.get("value", [])}
    return value.get("value")

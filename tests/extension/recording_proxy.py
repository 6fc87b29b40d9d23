"""The browser's only way out during the extension tests: an HTTP proxy that writes down every
request (the browser sends even loopback through it) and passes those for the hotline's onion
host on to the meldpunt under test; anything else gets an error and stays on the list. Bodies
(the extension posts the addresses to the form) are written down too, in `bodies`."""

from __future__ import annotations

import http.client
import http.server
import threading
import urllib.parse


class RecordingProxy:
    def __init__(self, onion_host: str, server_port: int) -> None:
        self.seen: list[tuple[str, str]] = []
        self.bodies: list[tuple[str, bytes]] = []
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                proxy.seen.append((self.command, self.path))
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                if body is not None:
                    proxy.bodies.append((self.path, body))
                url = urllib.parse.urlsplit(self.path)
                if url.hostname != onion_host:
                    self.send_error(502)
                    return
                # meldpunt answers for loopback (and for the onion address it is given).
                conn = http.client.HTTPConnection("127.0.0.1", server_port, timeout=20)
                path = url.path + (f"?{url.query}" if url.query else "")
                headers = {"Host": "127.0.0.1"}
                if body is not None:
                    headers["Content-Type"] = self.headers.get("Content-Type", "")
                conn.request(self.command, path, body=body, headers=headers)
                resp = conn.getresponse()
                body = resp.read()
                self.send_response(resp.status)
                for name, value in resp.getheaders():
                    if name.lower() not in ("connection", "transfer-encoding", "content-length"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                conn.close()

            do_POST = do_GET

            def do_CONNECT(self) -> None:
                proxy.seen.append((self.command, self.path))
                self.send_error(403)

            do_HEAD = do_PUT = do_OPTIONS = do_DELETE = do_CONNECT

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

"""`python -m onion_service.process --config FILE --bind BIND [--onion-address A] [--circuit-ids]`:
the web server alone (the gunicorn master, its writer and its workers), in the foreground.

This is the public entry point for the web server as a child process: `meldpunt serve` in Tor mode
starts it behind the tor it launches, and the tests and benches start it on loopback. People use
`meldpunt serve` (or `serve --local-only` for a preview); this module has no other options because
the child needs none.
"""

from __future__ import annotations

import argparse
import sys

from crypto.errors import Error


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m onion_service.process", description=__doc__.split("\n")[0])
    parser.add_argument("--config", required=True, help="the server's TOML configuration")
    parser.add_argument("--bind", required=True, help="127.0.0.1:PORT, [::1]:PORT or unix:/PATH")
    parser.add_argument(
        "--onion-address", default=None, help="the onion address to answer for, besides loopback and web.public_hosts"
    )
    parser.add_argument(
        "--circuit-ids", action="store_true", help="require tor's PROXY line (the circuit id) on every connection"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    from onion_service.config import load_config
    from onion_service.process import server

    try:
        config = load_config(args.config)
        server.run(config, bind=args.bind, onion_address=args.onion_address, circuit_ids=args.circuit_ids)
    except Error as exc:  # the same one line the `meldpunt` command prints
        print(f"meldpunt: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

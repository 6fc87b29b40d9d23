"""Keys of the private network's relays and authorities, cached per machine."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from devnet.node import Node, PrivateNetworkError

# The authorities' RSA identity keys cost about a second of CPU each: they are cached per machine.
KEY_CACHE_VERSION = "v1"
# A test network's authority keys need no secrecy; tor-gencert insists on a passphrase all the same.
GENCERT_PASSPHRASE = b"meldpunt-private-network\n"


def default_key_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "meldpunt" / "tor-test-keys" / KEY_CACHE_VERSION


def make_node_keys(node: Node, key_cache: Path, tor_cmd: str, gencert_cmd: str) -> None:
    """The node's relay keys (and an authority's v3 keys), from the cache when it has them."""
    keys = node.data_dir / "keys"
    cached = key_cache / node.name
    had_cache = cached.is_dir()
    if had_cache and not keys.exists():
        shutil.copytree(cached, keys)
        os.chmod(keys, 0o700)
    keys.mkdir(mode=0o700, exist_ok=True)
    if node.role == "authority":
        args = [
            gencert_cmd,
            "--passphrase-fd",
            "0",
            "-m",
            "12",
            "-a",
            f"127.0.0.1:{node.dir_port}",
            "-i",
            str(keys / "authority_identity_key"),
            "-s",
            str(keys / "authority_signing_key"),
            "-c",
            str(keys / "authority_certificate"),
        ]
        if not (keys / "authority_identity_key").exists():
            args.insert(1, "--create-identity-key")
        run_tool(args, input=GENCERT_PASSPHRASE, cwd=node.data_dir)
        for line in (keys / "authority_certificate").read_text().splitlines():
            if line.startswith("fingerprint "):
                node.v3ident = line.split()[1]
    run_tool(
        [
            tor_cmd,
            "--ignore-missing-torrc",
            "-f",
            "none",
            "--defaults-torrc",
            "/dev/null",
            "--orport",
            "1",
            "--datadirectory",
            str(node.data_dir),
            "--nickname",
            node.name,
            "--GeoIPFile",
            "/dev/null",
            "--GeoIPv6File",
            "/dev/null",
            "--Log",
            "err stderr",
            "--list-fingerprint",
        ]
    )
    node.fingerprint = (node.data_dir / "fingerprint").read_text().split()[1]
    if not had_cache:
        _save_to_cache(node, key_cache)


def _save_to_cache(node: Node, key_cache: Path) -> None:
    # Written aside and renamed into place, so a concurrent run sees all of it or none.
    try:
        key_cache.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{node.name}-", dir=key_cache))
        keys = tmp / "keys"
        shutil.copytree(
            node.data_dir / "keys",
            keys,
            ignore=shutil.ignore_patterns("authority_signing_key", "authority_certificate"),
        )
        try:
            os.rename(keys, key_cache / node.name)
        except OSError:
            pass  # another run cached this node first; its keys are as good as ours
        shutil.rmtree(tmp, ignore_errors=True)
    except PermissionError:
        return  # a read-only home only costs the next start a few seconds


def run_tool(args: list[str], **kwargs) -> None:
    done = subprocess.run(args, capture_output=True, timeout=60, **kwargs)
    if done.returncode != 0:
        raise PrivateNetworkError(
            f"{Path(args[0]).name} failed ({done.returncode}): {done.stderr.decode(errors='replace')[-500:]}"
        )

"""The torrc of each node of the private network, and the authorities' bandwidth file.

Each setting that is not tor's default avoids a way in which such a network fails to start, or
starts slowly, on a 2-core machine; the comments say which.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterable
from pathlib import Path

from devnet.node import Node

VOTING_INTERVAL = 10  # tor rejects shorter intervals, or votes unreliably with them
VOTE_DELAY = DIST_DELAY = 2
# Seconds after launch: where the wall clock put the first vote under 3 s after start, the first
# consensus missed relays or never came.
FIRST_VOTE_AFTER = 4


def bandwidth_text(nodes: Iterable[Node]) -> str:
    # Every relay weighs the same: fresh relays would otherwise get 0, circuits would keep
    # choosing the same few hops, and bootstrapping would hang at 95 % for 10-20 s.
    lines = [str(int(time.time()))]
    lines += [f"node_id=${n.fingerprint} bw=1000" for n in nodes if n.is_relay]
    return "\n".join(lines) + "\n"


def voting_start_offset(started_at: float) -> int:
    # The consensus is valid from the interval's boundary; voting starts VOTE+DIST before it.
    first_boundary = started_at + FIRST_VOTE_AFTER + VOTE_DELAY + DIST_DELAY
    return math.ceil(first_boundary) % VOTING_INTERVAL


def torrc_text(node: Node, nodes: Iterable[Node], *, offset: int, bandwidth_file: Path) -> str:
    lines = [
        "TestingTorNetwork 1",
        "PathsNeededToBuildCircuits 0.67",
        "TestingDirAuthVoteExit *",
        "TestingDirAuthVoteHSDir *",
        "TestingDirAuthVoteGuard *",
        "TestingMinExitFlagThreshold 0",
        "V3AuthNIntervalsValid 2",
        f"DataDirectory {node.data_dir}",
        f"Nickname {node.name}",
        f"ControlPort 127.0.0.1:{node.control_port}",
        "CookieAuthentication 1",
        f"__OwningControllerProcess {os.getpid()}",
        "ShutdownWaitLength 0",
        "GeoIPFile /dev/null",  # loading the GeoIP databases costs about 1.3 s of CPU each
        "GeoIPv6File /dev/null",
        f"Log notice file {node.data_dir / 'notice.log'}",
        "SafeLogging 1",
    ]
    for auth in nodes:
        if auth.role == "authority":
            lines.append(
                f"DirAuthority {auth.name} orport={auth.or_port} no-v2 v3ident={auth.v3ident} "
                f"127.0.0.1:{auth.dir_port} {auth.fingerprint}"
            )
    if node.is_relay:
        lines += [
            "SocksPort 0",
            f"ORPort 127.0.0.1:{node.or_port}",
            "Address 127.0.0.1",
            "ExitRelay 0",
            "AssumeReachable 1",
            "ServerDNSDetectHijacking 0",
            "ServerDNSTestAddresses",
            "ServerDNSResolvConfFile /dev/null",
        ]
    if node.role == "relay":
        # Relay caches answer 404 for microdescriptors they do not have yet, and a client
        # then waits 10 s before it asks again.
        lines.append("DirCache 0")
    if node.role == "authority":
        lines += [
            f"DirPort 127.0.0.1:{node.dir_port}",
            "AuthoritativeDirectory 1",
            "V3AuthoritativeDirectory 1",
            f"ContactInfo {node.name}@meldpunt.invalid",
            f"TestingV3AuthInitialVotingInterval {VOTING_INTERVAL} seconds",
            f"TestingV3AuthInitialVoteDelay {VOTE_DELAY} seconds",
            f"TestingV3AuthInitialDistDelay {DIST_DELAY} seconds",
            f"V3AuthVotingInterval {VOTING_INTERVAL} seconds",
            f"V3AuthVoteDelay {VOTE_DELAY} seconds",
            f"V3AuthDistDelay {DIST_DELAY} seconds",
            f"TestingV3AuthVotingStartOffset {offset} seconds",
            "AuthDirVoteStableGuaranteeMinUptime 0",
            "AuthDirVoteStableGuaranteeMTBF 0",
            f"V3BandwidthsFile {bandwidth_file}",
        ]
    if node.role == "hs":
        lines.append("SocksPort 0")
    if node.role == "client":
        # Only .onion names: anything else is refused at once instead of waiting for an exit.
        lines.append(f"SocksPort 127.0.0.1:{node.socks_port} OnionTrafficOnly")
    return "\n".join(lines) + "\n"

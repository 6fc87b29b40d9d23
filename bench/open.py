"""Benchmark (by hand): `meldpunt open` on a bundle of post-quantum-sealed reports, against gpg.

    .venv/bin/python -m bench.open                  # 100,000 reports (target: at most 60 s on 2 cores)
    .venv/bin/python -m bench.open --reports 10000 --gpg-sample 100

Builds, in a temporary directory, a bundle as `meldpunt export` writes it (reports sealed in
parallel to one mlkem768x25519 staff key, each one framed report), then times the real CLI,
`meldpunt open BUNDLE -i KEY --out DIR`, writing every output. For the comparison it seals the
same framed reports with gpg to an RSA-4096 key and times `gpg --decrypt-files` on a sample of
them, writing the plaintexts as well; the gpg time for the whole count is extrapolated from that
sample (gpg decrypts one file after another, so its time grows linearly), and the output says so.
Needs about 2 GB of free disk per 100,000 reports. Nothing leaves the machine.
"""

from __future__ import annotations

import argparse
import datetime
import multiprocessing
import os
import resource
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bench.workdir import workdir
from crypto.age import keys
from crypto.envelope import frame
from crypto.envelope import report as report_schema
from crypto.envelope.receipt import new_receipt
from crypto.envelope.sealing import seal
from crypto.staff.bundle import BundleWriter

ROOT = Path(__file__).resolve().parent.parent

# This checkout's command line (run from ROOT, so its own code), whichever venv runs the bench.
MELDPUNT = (sys.executable, "-m", "meldpunt.cli")
DAY = datetime.date(2026, 11, 20)


def sample_report(i: int) -> report_schema.Report:
    return report_schema.Report(
        urls=(
            f"http://{'abcdefghijklmnopqrstuvwxyz234567' * 2}"[:63] + f".onion/gallery/{i}",
            f"https://files.example.test/{i:06d}/{secrets.token_hex(8)}",
        ),
        found_on="onion",
        kinds=("images", "videos"),
        access="",
        seen_on="2026-11-19",
        description=f"Benchmark report {i}. " + "A short description of what was seen. " * 6,
        child_in_danger=(i % 50 == 0),
        contact="",
        language=("nl", "fr", "de", "en")[i % 4],
        receipt=new_receipt(),
        received_on=DAY.isoformat(),
    )


_recipients: list = []


def _seal_range(bounds: tuple[int, int]) -> list[bytes]:
    return [seal(sample_report(i), _recipients) for i in range(*bounds)]


def build_bundle(path: Path, count: int, recipient) -> float:
    _recipients.append(recipient)  # inherited by the forked sealers
    step = 1000
    ranges = [(i, min(i + step, count)) for i in range(0, count, step)]
    started = time.perf_counter()
    with open(path, "wb", buffering=1 << 20) as f:
        writer = BundleWriter(f)
        with multiprocessing.get_context("fork").Pool(os.cpu_count()) as pool:
            for sealed_chunk in pool.imap(_seal_range, ranges):
                for sealed in sealed_chunk:
                    writer.add(secrets.token_bytes(16), sealed, DAY)
        writer.finish()
    return time.perf_counter() - started


def time_meldpunt_open(bundle: Path, key: Path, out: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds of meldpunt and its workers)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(
        [*MELDPUNT, "open", str(bundle), "-i", str(key), "--out", str(out)],
        check=True,
        stdout=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        cwd=ROOT,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def time_gpg(work: Path, sample: int) -> float | None:
    """Seconds per report for `gpg --decrypt-files` on RSA-4096-sealed framed reports."""
    gpg = shutil.which("gpg")
    if gpg is None:
        return None
    home = work / "gnupg"
    home.mkdir(mode=0o700)
    env = {**os.environ, "GNUPGHOME": str(home)}
    base = [gpg, "--batch", "--quiet", "--no-tty", "--pinentry-mode", "loopback", "--passphrase", ""]
    subprocess.run(
        base + ["--quick-generate-key", "bench-staff@meldpunt.invalid", "rsa4096", "encrypt", "never"],
        check=True,
        env=env,
        capture_output=True,
    )
    files = work / "gpg"
    files.mkdir()
    for i in range(sample):
        # gpg is given the very plaintext age seals, the framed report: this compares the sealers
        # alone, so the envelope's chain is cut open here on purpose.
        (files / f"{i}").write_bytes(frame.frame(report_schema.encode(sample_report(i))))
    names = [str(files / f"{i}") for i in range(sample)]
    subprocess.run(
        base + ["--trust-model", "always", "--recipient", "bench-staff@meldpunt.invalid", "--encrypt-files", *names],
        check=True,
        env=env,
        capture_output=True,
    )
    for name in names:
        os.unlink(name)
    started = time.perf_counter()
    subprocess.run(base + ["--decrypt-files", *[n + ".gpg" for n in names]], check=True, env=env, capture_output=True)
    elapsed = time.perf_counter() - started
    if not all(os.path.exists(n) for n in names):
        raise SystemExit("gpg did not write every plaintext; the comparison would be meaningless")
    subprocess.run(["gpgconf", "--kill", "gpg-agent"], env=env, check=False, capture_output=True)
    return elapsed / sample


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reports", type=int, default=100_000, help="reports in the bundle (default 100000)")
    parser.add_argument("--gpg-sample", type=int, default=200, help="gpg decryptions actually timed (default 200)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()

    with workdir("open", args.keep) as work:
        identity = keys.generate("pq")
        key = work / "staff.key"
        key.write_text(keys.identity_file_text(identity))
        bundle = work / "bundle.tar"
        sealing = build_bundle(bundle, args.reports, identity.recipient())
        # On the staff machine the bundle is already on the medium: flush it now, or the sync
        # `meldpunt open` does before writing its acknowledgement would pay for it.
        os.sync()
        print(
            f"built a bundle of {args.reports} post-quantum-sealed reports "
            f"({bundle.stat().st_size / 1e6:.0f} MB) in {sealing:.1f} s"
        )

        load = os.getloadavg()[0]
        if load > 0.5:
            print(
                f"note: load average {load:.1f} before timing; other work on this machine slows the "
                "numbers below (file creation most of all)"
            )
        opened, cpu = time_meldpunt_open(bundle, key, work / "out")
        written = len(os.listdir(work / "out" / "reports"))
        if written != args.reports:
            raise SystemExit(f"meldpunt open wrote {written} reports, expected {args.reports}")
        per = opened / args.reports
        print(
            f"meldpunt open: {opened:.1f} s for {args.reports} reports ({per * 1e3:.3f} ms a report, "
            f"{os.cpu_count()} cores), all outputs written; CPU time {cpu:.1f} s (user+sys, all processes)"
        )
        if args.reports >= 100_000:
            print(f"  target: at most 60 s for 100,000 reports -> {'met' if opened <= 60 else 'NOT met'}")

        gpg_per = time_gpg(work, args.gpg_sample)
        if gpg_per is None:
            print("gpg: not installed; no comparison")
            return
        gpg_total = gpg_per * args.reports
        print(
            f"gpg --decrypt-files, RSA-4096: {gpg_per * 1e3:.1f} ms a report measured on {args.gpg_sample} "
            f"reports; extrapolated to {args.reports}: {gpg_total:.0f} s ({gpg_total / 60:.1f} min)"
        )
        print(
            f"ratio: meldpunt open is {gpg_total / opened:.1f}x faster than gpg "
            f"(gpg time extrapolated from the sample, meldpunt measured in full)"
        )


if __name__ == "__main__":
    main()

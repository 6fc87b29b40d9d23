"""Fixtures for the browser extension's tests: a hotline configuration unlike the example, its
built copy, a meldpunt serving the form, and Debian's Chromium with the copy loaded."""

from __future__ import annotations

import os

import pytest

from onion_service.extension import build
from onion_service.tor import keys
from tests.extension.extkit import PUBLIC_HOST, Hotline, write_config
from tests.harness import Server

CHROMIUM = "/usr/lib/chromium/chromium"


@pytest.fixture(scope="session")
def hotline(tmp_path_factory) -> Hotline:
    base = tmp_path_factory.mktemp("hotline")
    (base / "data").mkdir(mode=0o700)
    write_config(base / "meldpunt.toml", base / "data", public_hosts=[PUBLIC_HOST])
    return Hotline(base / "meldpunt.toml", keys.generate().hostname, f"https://{PUBLIC_HOST}")


@pytest.fixture(scope="session")
def built(hotline, tmp_path_factory):
    from onion_service.config import load_config

    return build(load_config(hotline.config_path), tmp_path_factory.mktemp("built"), onion_address=hotline.onion)


@pytest.fixture(scope="session")
def meldpunt(hotline, tmp_path_factory):
    base = tmp_path_factory.mktemp("served")
    (base / "tmp").mkdir()
    server = Server(hotline.config_path, base, tmpdir=base / "tmp").start()
    yield server
    server.stop()


@pytest.fixture
def proxy(hotline, meldpunt):
    from tests.extension.recording_proxy import RecordingProxy

    recorder = RecordingProxy(hotline.onion, meldpunt.port)
    yield recorder
    recorder.close()


@pytest.fixture
def open_browser(playwright, built, proxy, tmp_path):
    """Starts Chromium with the built copy loaded, its UI in a given language, every request it
    makes going through `proxy`; returns (context, the extension's service worker). The profile
    folders, in the order started, are in `start.profiles` (for reading what the browser kept)."""
    contexts = []

    def start(language: str):
        profile = tmp_path / f"profile-{len(contexts)}"
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=CHROMIUM,
            headless=True,
            # "<-loopback>" sends loopback through the proxy too: nothing leaves unrecorded.
            proxy={"server": f"http://127.0.0.1:{proxy.port}", "bypass": "<-loopback>"},
            args=[
                "--no-sandbox",
                f"--disable-extensions-except={built.folder}",
                f"--load-extension={built.folder}",
                f"--lang={language}",
            ],
            env={**os.environ, "LANGUAGE": language},
        )
        contexts.append(context)
        start.profiles.append(profile)
        worker = context.service_workers[0] if context.service_workers else context.wait_for_event("serviceworker")
        return context, worker

    start.profiles = []
    yield start
    for context in contexts:
        context.close()

"""The publisher's life cycle against a mocked stem Controller (the library boundary): what it
sets, that it keeps other services on the same tor, and that it sets the service again after the
connection drops."""

from __future__ import annotations

import threading
from unittest import mock

import pytest
import stem
import stem.control
import stem.response

from onion_service.tor import keys
from onion_service.tor.errors import TorError
from onion_service.tor.publisher import OnionSettings, Publisher


def _reply(text: str) -> stem.response.ControlMessage:
    return stem.response.ControlMessage.from_str(text, normalize=True)


class FakeTor:
    """Hands out mocked controllers; each remembers its listeners so the test can fire them."""

    def __init__(self, key: keys.OnionKey, *, others: str = "", refuse: str | None = None) -> None:
        self.key = key
        self.others = others  # GETCONF HiddenServiceOptions lines of another service on this tor
        self.refuse = refuse
        self.controllers: list[mock.Mock] = []
        self.connected = threading.Event()

    def connect(self) -> stem.control.Controller:
        c = mock.Mock(spec=stem.control.Controller)
        c.is_alive.return_value = True
        c.listeners = {}

        def add_event_listener(fn, *types):
            c.listeners["event"] = fn

        def add_status_listener(fn, spawn=True):
            c.listeners["status"] = fn

        c.add_event_listener.side_effect = add_event_listener
        c.add_status_listener.side_effect = add_status_listener
        c.msg.side_effect = lambda command: _reply(self.others + "250 OK\r\n")
        if self.refuse:
            c.set_options.side_effect = stem.InvalidRequest("552", self.refuse)
        self.controllers.append(c)
        self.connected.set()
        return c

    def upload(self, c: mock.Mock) -> None:
        event = mock.Mock(action=stem.HSDescAction.UPLOADED, address=self.key.service_id)
        c.listeners["event"](event)


DIR = "/srv/meldpunt/onion-service"


def test_publish_sets_the_service_and_close_removes_it():
    key = keys.generate()
    tor = FakeTor(key)
    publisher = Publisher(key, DIR, "127.0.0.1:8080", OnionSettings(), tor.connect, upload_timeout=0.1)
    assert publisher.publish(wait=False) is False
    (c,) = tor.controllers
    (options,) = [call.args[0] for call in c.set_options.call_args_list]
    assert options[0] == ("HiddenServiceDir", DIR)
    assert ("HiddenServicePort", "80 127.0.0.1:8080") in options
    assert ("HiddenServiceExportCircuitID", "haproxy") in options
    tor.upload(c)
    assert publisher.wait_uploaded(1)
    publisher.close()
    c.reset_conf.assert_called_with("HiddenServiceDir")
    c.close.assert_called()


def test_other_services_on_the_same_tor_are_kept():
    key = keys.generate()
    others = (
        "250-HiddenServiceDir=/var/lib/tor/other\r\n250-HiddenServicePort=22 127.0.0.1:22\r\n"
        f"250-HiddenServiceDir={DIR}\r\n250-HiddenServicePort=80 127.0.0.1:1\r\n"
    )
    tor = FakeTor(key, others=others)
    publisher = Publisher(key, DIR, "127.0.0.1:8080", OnionSettings(), tor.connect, upload_timeout=0.1)
    publisher.publish(wait=False)
    (c,) = tor.controllers
    options = c.set_options.call_args.args[0]
    assert options[:2] == [("HiddenServiceDir", "/var/lib/tor/other"), ("HiddenServicePort", "22 127.0.0.1:22")]
    assert [v for k, v in options if k == "HiddenServiceDir"] == ["/var/lib/tor/other", DIR]
    assert ("HiddenServicePort", "80 127.0.0.1:1") not in options  # our old entry, replaced
    publisher.close()
    assert c.set_options.call_args.args[0] == options[:2]  # the other service stays


def test_lost_connection_sets_the_service_again():
    key = keys.generate()
    tor = FakeTor(key)
    notes: list[str] = []
    publisher = Publisher(
        key, DIR, "unix:/run/meldpunt/web.sock", OnionSettings(), tor.connect, notify=notes.append, upload_timeout=5
    )
    publisher.publish(wait=False)
    first = tor.controllers[0]
    tor.connected.clear()
    publisher.start_supervisor()
    try:
        first.is_alive.return_value = False
        first.listeners["status"](first, stem.control.State.CLOSED, 0.0)
        assert tor.connected.wait(5), "the publisher did not reconnect"
        second = tor.controllers[1]
        for _ in range(50):
            if second.set_options.called:
                break
            threading.Event().wait(0.05)
        options = second.set_options.call_args.args[0]
        assert ("HiddenServicePort", "80 unix:/run/meldpunt/web.sock") in options
        assert ("HiddenServiceDir", DIR) in options
        tor.upload(second)
        for _ in range(50):
            if publisher.recoveries:
                break
            threading.Event().wait(0.1)
        assert len(publisher.recoveries) == 1
        assert any("published again" in n for n in notes)
    finally:
        publisher.close()


def test_refused_settings_are_explained():
    key = keys.generate()
    tor = FakeTor(key, refuse="Failed to configure rendezvous options")
    publisher = Publisher(key, DIR, "127.0.0.1:8080", OnionSettings(), tor.connect)
    with pytest.raises(TorError, match="owned by the user tor runs as"):
        publisher.publish(wait=False)
    tor.controllers[0].close.assert_called()

"""The publisher's life cycle against a mocked stem Controller (the library boundary): what it
sends, and that it re-adds the same key after the connection drops."""

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

    def __init__(self, key: keys.OnionKey, *, add_reply: str | None = None) -> None:
        self.key = key
        self.add_reply = add_reply or f"250-ServiceID={key.service_id}\r\n250 OK\r\n"
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
        c.msg.side_effect = lambda command: _reply(self.add_reply if command.startswith("ADD_ONION")
                                                   else "250 OK\r\n")
        self.controllers.append(c)
        self.connected.set()
        return c

    def upload(self, c: mock.Mock) -> None:
        event = mock.Mock(action=stem.HSDescAction.UPLOADED, address=self.key.service_id)
        c.listeners["event"](event)


def test_publish_sends_one_add_onion_and_close_removes_the_service():
    key = keys.generate()
    tor = FakeTor(key)
    publisher = Publisher(key, "127.0.0.1:8080", OnionSettings(), tor.connect, upload_timeout=0.1)
    assert publisher.publish(wait=False) is False
    (c,) = tor.controllers
    commands = [call.args[0] for call in c.msg.call_args_list]
    assert len(commands) == 1 and commands[0].startswith(f"ADD_ONION {key.blob} ")
    tor.upload(c)
    assert publisher.wait_uploaded(1)
    publisher.close()
    assert c.msg.call_args_list[-1].args[0] == f"DEL_ONION {key.service_id}"
    c.close.assert_called()


def test_lost_connection_re_adds_the_same_key():
    key = keys.generate()
    tor = FakeTor(key)
    notes: list[str] = []
    publisher = Publisher(key, "unix:/run/meldpunt/web.sock", OnionSettings(), tor.connect,
                          notify=notes.append, upload_timeout=5)
    publisher.publish(wait=False)
    first = tor.controllers[0]
    tor.connected.clear()
    publisher.start_supervisor()
    try:
        first.is_alive.return_value = False
        first.listeners["status"](first, stem.control.State.CLOSED, 0.0)
        assert tor.connected.wait(5), "the publisher did not reconnect"
        second = tor.controllers[1]
        add = second.msg.call_args_list[0].args[0]
        assert add.startswith(f"ADD_ONION {key.blob} ") and add.endswith("Port=80,unix:/run/meldpunt/web.sock")
        tor.upload(second)
        for _ in range(50):
            if publisher.recoveries:
                break
            threading.Event().wait(0.1)
        assert len(publisher.recoveries) == 1
        assert any("published again" in n for n in notes)
    finally:
        publisher.close()


def test_collision_is_explained():
    key = keys.generate()
    tor = FakeTor(key, add_reply="550 Onion address collision\r\n")
    publisher = Publisher(key, "127.0.0.1:8080", OnionSettings(), tor.connect)
    with pytest.raises(TorError, match="another meldpunt"):
        publisher.publish(wait=False)
    tor.controllers[0].close.assert_called()


def test_a_different_address_from_tor_is_refused():
    key = keys.generate()
    tor = FakeTor(key, add_reply=f"250-ServiceID={keys.generate().service_id}\r\n250 OK\r\n")
    publisher = Publisher(key, "127.0.0.1:8080", OnionSettings(), tor.connect)
    with pytest.raises(TorError, match="different address"):
        publisher.publish(wait=False)

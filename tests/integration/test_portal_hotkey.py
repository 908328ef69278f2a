"""The Wayland backend (hotkeys/portal.py) against a real D-Bus daemon on a private bus, where a
small stand-in plays the desktop portal's GlobalShortcuts side: no desktop with the portal can
run here, so its half of the protocol (CreateSession / BindShortcuts answered through Request
objects' Response signals, then Activated / Deactivated) is written out below from the
portal's specification. It proves the backend's calls, signatures and signal handling."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from jeepney import (
    DBusAddress,
    HeaderFields,
    MessageType,
    new_error,
    new_method_return,
    new_signal,
)
from jeepney.bus_messages import message_bus
from jeepney.io.blocking import open_dbus_connection

from ravatar_live.hotkeys.backend import HotkeyUnavailable
from ravatar_live.hotkeys.keys import HotkeySpec
from ravatar_live.hotkeys.portal import (
    PORTAL_BUS,
    PORTAL_PATH,
    SHORTCUT_ID,
    SHORTCUTS_INTERFACE,
    PortalBackend,
)

SESSION = "/org/freedesktop/portal/desktop/session/1_1/ravatar"


@pytest.fixture
def bus(monkeypatch: pytest.MonkeyPatch, tmp_path) -> Iterator[str]:
    exe = shutil.which("dbus-daemon")
    assert exe, "dbus-daemon is required (Debian: apt-get install dbus-daemon)"
    address = f"unix:path={tmp_path}/bus"
    daemon = subprocess.Popen([exe, "--session", "--nofork", "--print-address",
                               f"--address={address}"], stdout=subprocess.PIPE, text=True)
    assert daemon.stdout is not None
    assert daemon.stdout.readline().strip()  # printed once it accepts connections
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", address)
    yield address
    daemon.terminate()
    daemon.wait(timeout=10)


class FakePortal:
    """The desktop's side: answers on its own thread; `emit` sends the shortcut's signals."""

    def __init__(self, address: str, *, has_shortcuts: bool = True, answer: int = 0) -> None:
        self.conn = open_dbus_connection(bus=address)
        self.conn.send_and_get_reply(message_bus.RequestName(PORTAL_BUS))
        self.has_shortcuts = has_shortcuts
        self.answer = answer
        self.bound: list[Any] = []
        self.closed = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                msg = self.conn.receive(timeout=0.2)
            except TimeoutError:
                continue
            if msg.header.message_type is MessageType.method_call:
                with self._lock:
                    self._handle(msg)

    def _handle(self, msg: Any) -> None:
        member = msg.header.fields.get(HeaderFields.member)
        sender = msg.header.fields[HeaderFields.sender].lstrip(":").replace(".", "_")
        if member == "Get" and self.has_shortcuts:
            self.conn.send(new_method_return(msg, "v", (("u", 1),)))
        elif member in ("CreateSession", "BindShortcuts") and self.has_shortcuts:
            options = msg.body[-1]
            request = f"{PORTAL_PATH}/request/{sender}/{options['handle_token'][1]}"
            self.conn.send(new_method_return(msg, "o", (request,)))
            results: dict[str, tuple[str, Any]]
            if member == "CreateSession":
                results = {"session_handle": ("s", SESSION)}
            else:
                self.bound = msg.body[1]
                results = {"shortcuts": ("a(sa{sv})", [
                    (SHORTCUT_ID, {"trigger_description": ("s", "F9")})])}
            self.conn.send(new_signal(
                DBusAddress(request, interface="org.freedesktop.portal.Request"), "Response",
                "ua{sv}", (self.answer, results if self.answer == 0 else {})))
        elif member == "Close":
            self.closed.set()
            self.conn.send(new_method_return(msg))
        else:
            self.conn.send(new_error(msg, "org.freedesktop.DBus.Error.UnknownMethod"))

    def emit(self, member: str, shortcut: str = SHORTCUT_ID) -> None:
        with self._lock:
            self.conn.send(new_signal(DBusAddress(PORTAL_PATH, interface=SHORTCUTS_INTERFACE),
                                      member, "osta{sv}", (SESSION, shortcut, 0, {})))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.conn.close()


def test_portal_binds_the_shortcut_and_passes_press_and_release(bus) -> None:
    portal = FakePortal(bus)
    backend = PortalBackend(os.environ)
    pressed, released = threading.Event(), threading.Event()
    try:
        backend.start(HotkeySpec.parse("Ctrl+F9"), pressed.set, released.set)
        ((shortcut_id, options),) = portal.bound
        assert shortcut_id == SHORTCUT_ID
        assert options["preferred_trigger"] == ("s", "CTRL+F9")
        portal.emit("Activated", shortcut="someone-else")  # not ours: ignored
        portal.emit("Activated")
        assert pressed.wait(10) and not released.is_set()
        portal.emit("Deactivated")
        assert released.wait(10)
        backend.stop()
        assert portal.closed.wait(10), "the shortcuts session is closed on stop"
    finally:
        backend.stop()
        portal.stop()


def test_a_desktop_without_the_interface_is_named_in_words(bus) -> None:
    portal = FakePortal(bus, has_shortcuts=False)
    try:
        with pytest.raises(HotkeyUnavailable, match="offers no global shortcuts portal"):
            PortalBackend(os.environ).start(HotkeySpec.parse("F9"), lambda: None,
                                            lambda: None)
    finally:
        portal.stop()


def test_a_declined_shortcut_is_said_so(bus) -> None:
    portal = FakePortal(bus, answer=1)
    try:
        with pytest.raises(HotkeyUnavailable, match="declined"):
            PortalBackend(os.environ).start(HotkeySpec.parse("F9"), lambda: None,
                                            lambda: None)
    finally:
        portal.stop()

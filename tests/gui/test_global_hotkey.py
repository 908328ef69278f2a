"""Push-to-talk from any window: a real X server (Xvfb), a real window of "another app" holding
the keyboard focus, real key presses and releases from xdotool (XTEST, as a keyboard makes
them), the real hook (pynput over RECORD) and the real app window and simulator.

The window under test is offscreen (Qt's platform does not matter: the hook talks to the X
server itself), so no key can reach it except through the global hook.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt

from ravatar_live.hotkeys.service import HotkeyState
from ravatar_live.settings import Settings
from ravatar_live.ui.talk_bar import TAP_HINT
from tests.e2e.test_app_e2e import ARTIFACTS
from tests.gui.conftest import USER_ID, WAIT_MS
from tests.support.x11 import OtherAppWindow, Xvfb

pytestmark = pytest.mark.gui


@pytest.fixture
def x_display(monkeypatch: pytest.MonkeyPatch) -> Iterator[Xvfb]:
    xvfb = Xvfb("640x480x24")
    monkeypatch.setenv("DISPLAY", xvfb.display)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setenv("XDG_SESSION_TYPE", "x11")
    yield xvfb
    xvfb.stop()


def test_global_key_talks_from_another_app_and_not_when_off(x_display, make_app, qtbot) -> None:
    other = OtherAppWindow(x_display.display)
    try:
        app = make_app(settings=Settings(user_id=USER_ID, global_push_to_talk_key="F9"))
        hotkey, voice, bar = app.controller.global_talk, app.controller.voice, \
            app.window.talk_bar
        qtbot.waitUntil(lambda: hotkey.state is HotkeyState.ON, timeout=WAIT_MS)
        assert "X11" in hotkey.explanation
        app.go_live()
        assert x_display.focused_window() == other.id, "the other app must have the focus"

        # A hold: the take starts once held past the tap rule, and the release sends it.
        with qtbot.waitSignal(voice.take_started, timeout=WAIT_MS):
            x_display.xdotool("keydown", "F9")
        assert bar.talking
        with qtbot.waitSignal(voice.take_sent, timeout=WAIT_MS):
            x_display.xdotool("keyup", "F9")
        assert not bar.talking
        assert x_display.focused_window() == other.id

        # A tap (press and release at once) is the button's tap: nothing sent, and it says why.
        sent: list[bool] = []
        voice.take_sent.connect(sent.append)
        with qtbot.waitSignal(bar.hint_shown, timeout=WAIT_MS) as hint:
            x_display.xdotool("keydown", "F9", "keyup", "F9")
        assert hint.args == [TAP_HINT]
        assert bar.state_label.full_text() == TAP_HINT
        assert sent == []

        # Switched off, the key does nothing; switched on again, the first press seen is the
        # new one (a hook left running would have queued the earlier press first).
        presses: list[None] = []
        hotkey.pressed.connect(lambda: presses.append(None))
        app.window.apply_settings(app.controller.settings.replace(global_push_to_talk_key=""))
        assert hotkey.state is HotkeyState.OFF
        x_display.xdotool("keydown", "F9", "keyup", "F9")
        app.window.apply_settings(app.controller.settings.replace(global_push_to_talk_key="F9"))
        qtbot.waitUntil(lambda: hotkey.state is HotkeyState.ON, timeout=WAIT_MS)
        with qtbot.waitSignal(hotkey.pressed, timeout=WAIT_MS):
            x_display.xdotool("keydown", "F9")
        assert presses == [None]
        with qtbot.waitSignal(hotkey.released, timeout=WAIT_MS):
            x_display.xdotool("keyup", "F9")
    finally:
        other.close()


def test_global_key_off_by_default_and_settings_say_why_not_without_a_desktop(
        make_app, monkeypatch, qtbot) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.delenv("XDG_SESSION_TYPE", raising=False)
    app = make_app(connect=False)
    hotkey = app.controller.global_talk
    assert app.controller.settings.global_push_to_talk_key == ""
    assert hotkey.state is HotkeyState.OFF
    dialog = app.window.make_settings_dialog()
    try:
        assert not dialog.global_key_check.isChecked()
        assert not dialog.global_key_button.isEnabled()
        note = dialog.global_key_status.text()
        assert note.startswith("Not available here") and "X11 or Wayland" in note, note
        # Switched on anyway, the service says the same; nothing is watched.
        app.window.apply_settings(app.controller.settings.replace(global_push_to_talk_key="F9"))
        qtbot.waitUntil(lambda: hotkey.state is HotkeyState.UNAVAILABLE, timeout=WAIT_MS)
        assert "X11 or Wayland" in hotkey.explanation
    finally:
        dialog.deleteLater()


def test_settings_pick_the_key_by_pressing_it_and_refuse_a_typing_key(make_app, monkeypatch,
                                                                       qtbot) -> None:
    # What Settings says where X11 is configured; no server answers there, so the key saved
    # below is never really watched (nor any developer's display).
    monkeypatch.setenv("DISPLAY", ":987")
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.delenv("XDG_SESSION_TYPE", raising=False)
    app = make_app(connect=False)
    dialog = app.window.settings_flow.open_settings()
    try:
        dialog.tabs.setCurrentIndex(2)  # Keys & look
        assert dialog.global_key_status.text() == "Can work here, through X11."
        box, button = dialog.global_key_check, dialog.global_key_button
        box.setFocus()
        qtbot.keyClick(box, Qt.Key.Key_Space)
        assert box.isChecked() and button.isEnabled()
        qtbot.keyClick(button, Qt.Key.Key_Space)  # listen for the key
        assert button.capturing
        _widget, message, _ = dialog._fields["global_push_to_talk_key"]
        qtbot.keyClick(button, Qt.Key.Key_T)
        assert button.capturing and "types text in other apps" in message.text()
        qtbot.keyClick(button, Qt.Key.Key_F8, Qt.KeyboardModifier.ControlModifier)
        assert not button.capturing and button.key == "Ctrl+F8"
        assert button.accessibleName() == "Push-to-talk key in any window: Ctrl+F8"
        assert dialog.problems() == {}
        # What it looks like where a person picks it: an 800 x 600 screen and full HD.
        ARTIFACTS.mkdir(exist_ok=True)  # this test may run alone, before any other makes it
        for name, size in (("800x600", (760, 540)), ("fullhd", (900, 720))):
            dialog.resize(*size)
            qtbot.waitUntil(lambda s=size: (dialog.width(), dialog.height()) == s)
            assert dialog.grab().save(str(ARTIFACTS / f"settings-global-key-{name}.png"))
        qtbot.keyClick(dialog.save_button, Qt.Key.Key_Space)
        assert app.controller.settings.global_push_to_talk_key == "Ctrl+F8"
        assert app.store.load().global_push_to_talk_key == "Ctrl+F8"
        hotkey = app.controller.global_talk
        qtbot.waitUntil(lambda: hotkey.state is HotkeyState.UNAVAILABLE, timeout=WAIT_MS)
        assert "could not be reached" in hotkey.explanation
    finally:
        app.controller.global_talk.close()

"""The whole window from the keyboard alone: real key events (QTest) on the real window, against
the embedded simulator, always sent to whatever has the focus, as a keyboard would.

Tab reaches every control in a sensible order; Space and Return press the focused button; the
push-to-talk key talks only where the focused control has no use for it; the shortcuts start
and end the session, go to the message box, mute, open Settings and the shortcut list.
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QDialog, QMenu, QWidget

from ravatar_live.live.states import SessionState, StreamStage
from ravatar_live.settings import Settings
from ravatar_live.ui.conversation import Role
from ravatar_live.ui.settings_dialog import SettingsDialog
from ravatar_live.ui.shortcuts import Command
from ravatar_live.ui.shortcuts_dialog import ShortcutsDialog

pytestmark = pytest.mark.gui

USER_ID = "0123456789abcdef01234567"
Mod = Qt.KeyboardModifier


class Keyboard:
    """Keys go to the focused widget (or the active window), like a real keyboard."""

    def __init__(self, qtbot, window: QWidget) -> None:
        self.qtbot = qtbot
        self.window = window
        window.activateWindow()
        qtbot.waitUntil(window.isActiveWindow, timeout=5_000)

    @property
    def focus(self) -> QWidget:
        widget = QApplication.focusWidget()
        assert widget is not None, "nothing has the keyboard focus"
        return widget

    def click(self, key: Qt.Key, modifiers: Mod = Mod.NoModifier) -> None:
        QTest.keyClick(self.focus, key, modifiers)

    def down(self, key: Qt.Key) -> None:
        QTest.keyPress(self.focus, key)

    def up(self, key: Qt.Key) -> None:
        QTest.keyRelease(self.focus, key)

    def type(self, text: str) -> None:
        QTest.keyClicks(self.focus, text)

    def tab_to(self, target: QWidget, limit: int = 30) -> None:
        for _ in range(limit):
            if self.focus is target:
                return
            self.click(Qt.Key.Key_Tab)
        raise AssertionError(f"Tab never reached {target.accessibleName()!r}")

    def tab_cycle(self) -> list[QWidget]:
        """Tab from the current focus all the way round; the widgets in the order reached."""
        start, seen = self.focus, []
        for _ in range(40):
            self.click(Qt.Key.Key_Tab)
            seen.append(self.focus)
            if self.focus is start:
                return seen
        raise AssertionError("Tab never came back to where it started")


def names(widgets: list[QWidget]) -> list[str]:
    return [w.accessibleName() for w in widgets]


def close_popup_soon(seen: list[str], qtbot) -> None:
    """A menu runs its own event loop: look at it and close it from inside that loop."""

    def close() -> None:
        popup = QApplication.activePopupWidget()
        if popup is None:
            QTimer.singleShot(20, close)
            return
        if isinstance(popup, QMenu):
            seen.extend(a.text() for a in popup.actions() if not a.isSeparator())
        else:
            seen.append(type(popup).__name__)
        QTest.keyClick(popup, Qt.Key.Key_Escape)

    QTimer.singleShot(20, close)


@pytest.fixture
def keys(make_app):
    app = make_app()
    app.wait_connected()
    keyboard = Keyboard(app.qtbot, app.window)
    return app, keyboard


def test_tab_reaches_every_control_in_a_sensible_order(keys) -> None:
    app, kb = keys
    w = app.window
    assert kb.focus is w.stream_area, "the stream has the focus first (push-to-talk works)"
    assert names(kb.tab_cycle()) == [
        "Mute microphone", "Microphone", "Conversation", "Message",
        "Avatar", "Language", "Start session", "Settings and tools", "Avatar stream"]
    kb.tab_to(w.session_button)
    kb.click(Qt.Key.Key_Return)
    app.wait_session(SessionState.LIVE)
    app.wait_stream(StreamStage.PLAYING)
    kb.tab_to(w.stream_area)
    kb.click(Qt.Key.Key_Escape)  # the short "Live" banner: dismissed, so the order is fixed
    assert not w.banner.isVisible()
    # Live: the talk controls join in, right after the stream.
    assert names(kb.tab_cycle()) == [
        "Avatar sound", "Hold to talk", "Record", "Hands-free", "Mute microphone",
        "Microphone", "Conversation", "Message", "Language", "End session",
        "Settings and tools", "Avatar stream"]
    # A banner's buttons come right after the top bar (the banner sits over the stream).
    w.banner.post("test", w.banner.kind, "A question", actions=(("Yes", lambda: None),
                                                                ("No", lambda: None)))
    kb.tab_to(w.settings_button)
    assert names(kb.tab_cycle())[:4] == ["Yes", "No", "Dismiss message", "Avatar stream"]
    # Shift+Tab goes back the same way.
    kb.tab_to(w.stream_area)
    kb.click(Qt.Key.Key_Backtab)
    assert kb.focus.accessibleName() == "Dismiss message"


def test_space_and_return_press_every_button(keys) -> None:
    app, kb = keys
    w, qtbot = app.window, app.qtbot
    bar = w.talk_bar

    # The session button: Return starts, Space ends, Return starts again.
    kb.tab_to(w.session_button)
    kb.click(Qt.Key.Key_Return)
    app.wait_session(SessionState.LIVE)
    app.wait_stream(StreamStage.PLAYING)
    kb.tab_to(w.session_button)
    kb.click(Qt.Key.Key_Space)
    app.wait_session(SessionState.ENDED)
    kb.tab_to(w.session_button)
    kb.click(Qt.Key.Key_Return)
    app.wait_session(SessionState.LIVE)
    app.wait_stream(StreamStage.PLAYING)

    # Hold to talk: held down with Space, then with Return, each a take.
    for key in (Qt.Key.Key_Space, Qt.Key.Key_Return):
        kb.tab_to(bar.talk_button)
        sent = len(app.sim.utterances)
        with qtbot.waitSignal(app.controller.voice.take_started, timeout=10_000):
            kb.down(key)
        assert bar.talking
        qtbot.waitUntil(lambda: app.controller.voice.controller.state == "recording",
                        timeout=5_000)
        qtbot.wait(700)  # the length of the take: a person holding the key while speaking
        kb.up(key)
        assert not bar.talking
        app.run(app.sim.wait_for_utterances(sent + 1, within_s=20))

    # Record: Space starts, Return stops and sends.
    kb.tab_to(bar.record_button)
    kb.click(Qt.Key.Key_Space)
    assert bar.recording
    qtbot.wait(500)
    sent = len(app.sim.utterances)
    kb.click(Qt.Key.Key_Return)
    assert not bar.recording
    app.run(app.sim.wait_for_utterances(sent + 1, within_s=20))

    # Hands-free: Return turns it on, Space off. Mute: Space mutes, Return unmutes.
    for button, probe in ((bar.hands_free_button, lambda: app.controller.voice.hands_free),
                          (bar.mute_button, lambda: app.controller.voice.muted)):
        kb.tab_to(button)
        kb.click(Qt.Key.Key_Return)
        assert probe() and button.isChecked()
        kb.click(Qt.Key.Key_Space)
        assert not probe() and not button.isChecked()

    # Send: type, Tab to Send, press it with Space; then with Return.
    for n, key in enumerate((Qt.Key.Key_Space, Qt.Key.Key_Return)):
        kb.tab_to(w.message_edit)
        kb.type(f"Message {n}")
        kb.tab_to(w.send_button)
        kb.click(key)
        assert w.message_edit.text() == ""
        assert f"Message {n}" in w.conversation.texts(Role.USER)

    # Pickers open with Space and with Alt+Down (Esc closes them).
    for combo in (w.language_combo, bar.mic_picker):
        for key, modifiers in ((Qt.Key.Key_Space, Mod.NoModifier),
                               (Qt.Key.Key_Down, Mod.AltModifier)):
            kb.tab_to(combo)
            kb.click(key, modifiers)
            qtbot.waitUntil(lambda c=combo: c.view().isVisible(), timeout=3_000)
            QTest.keyClick(combo.view(), Qt.Key.Key_Escape)
            qtbot.waitUntil(lambda c=combo: not c.view().isVisible(), timeout=3_000)

    # The gear opens its menu with Space and with Return.
    for key in (Qt.Key.Key_Space, Qt.Key.Key_Return):
        kb.tab_to(w.settings_button)
        seen: list[str] = []
        close_popup_soon(seen, qtbot)
        kb.click(key)
        qtbot.waitUntil(lambda s=seen: bool(s), timeout=3_000)
        assert seen[:2] == ["Settings…", "Keyboard shortcuts"]
        # Closing the menu gives the focus back to the gear. The offscreen platform (no window
        # manager) now and then leaves the closed menu as the active window, which a desktop
        # never does: give the activation back as a window manager would, then check.
        qtbot.waitUntil(lambda: QApplication.activePopupWidget() is None, timeout=3_000)
        if QApplication.activeWindow() is not w:
            w.activateWindow()
        qtbot.waitUntil(lambda: QApplication.focusWidget() is w.settings_button, timeout=3_000)

    # A banner's button: reached by Tab right after the top bar, pressed with Return.
    app.sim.inject_fault(route="/endLiveSession", status=503, count=1)
    w.window_actions.actions[Command.SESSION].trigger()
    app.wait_session(SessionState.ENDED)
    chain = w.banner.focus_chain()
    assert chain, "the banner offers a button"
    kb.tab_to(w.settings_button)
    kb.click(Qt.Key.Key_Tab)
    assert kb.focus is chain[0]
    kb.click(Qt.Key.Key_Return)
    assert not w.banner.isVisible() or w.banner.title() != "Session ended"


def test_a_whole_session_with_shortcuts_and_the_push_to_talk_key(keys) -> None:
    app, kb = keys
    w, qtbot = app.window, app.qtbot
    kb.click(Qt.Key.Key_Return, Mod.ControlModifier)  # start
    app.wait_session(SessionState.LIVE)
    app.wait_stream(StreamStage.PLAYING)
    # The stream has the focus: Space there is push-to-talk.
    kb.tab_to(w.stream_area)
    with qtbot.waitSignal(app.controller.voice.take_started, timeout=10_000):
        kb.down(Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: len([m for m in app.sim.messages if "audio_base64_pcm" in m]) >= 2,
                    timeout=10_000)
    kb.up(Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: len(w.conversation.texts(Role.AVATAR)) >= 1, timeout=30_000)
    # Ctrl+L: the message box; Space there is a space, Enter sends.
    kb.click(Qt.Key.Key_L, Mod.ControlModifier)
    assert kb.focus is w.message_edit
    kb.type("How are you")
    assert w.message_edit.text() == "How are you" and not w.talk_bar.talking
    kb.click(Qt.Key.Key_Return)
    app.run(app.sim.wait_for_message(lambda m: m.get("request") == "How are you"))
    # Ctrl+Shift+M mutes and unmutes from anywhere.
    kb.click(Qt.Key.Key_M, Mod.ControlModifier | Mod.ShiftModifier)
    assert app.controller.voice.muted and w.talk_bar.state_label.full_text() == \
        "Microphone muted"
    assert not w.talk_bar.talk_button.isEnabled()
    kb.click(Qt.Key.Key_M, Mod.ControlModifier | Mod.ShiftModifier)
    assert not app.controller.voice.muted
    # F1 lists the shortcuts; Esc closes the list.
    kb.click(Qt.Key.Key_F1)
    qtbot.waitUntil(lambda: isinstance(QApplication.activeModalWidget(), ShortcutsDialog),
                    timeout=3_000)
    dialog = QApplication.activeModalWidget()
    assert isinstance(dialog, ShortcutsDialog)
    rows = dict(dialog.rows())
    assert rows["Start or end the live session"] == "Ctrl+Return or Ctrl+Enter"
    assert any(v == "Space" for v in rows.values()), "the push-to-talk key is listed"
    QTest.keyClick(dialog, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=3_000)
    # Ctrl+, opens Settings; Esc closes it without saving.
    kb.click(Qt.Key.Key_Comma, Mod.ControlModifier)
    qtbot.waitUntil(lambda: isinstance(QApplication.activeModalWidget(), SettingsDialog),
                    timeout=3_000)
    settings = QApplication.activeModalWidget()
    assert isinstance(settings, QDialog)
    QTest.keyClick(settings, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not settings.isVisible(), timeout=3_000)
    # Again, and this time Enter saves (Save is the dialog's default button).
    kb.click(Qt.Key.Key_Comma, Mod.ControlModifier)
    qtbot.waitUntil(lambda: isinstance(QApplication.activeModalWidget(), SettingsDialog),
                    timeout=3_000)
    again = QApplication.activeModalWidget()
    assert isinstance(again, SettingsDialog) and again is not settings
    again.sensitivity_slider.setValue(70)
    QTest.keyClick(again, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: app.controller.settings.vad_sensitivity == 0.7, timeout=3_000)
    assert app.store.load().vad_sensitivity == 0.7
    # Esc dismisses the banner; Ctrl+Return ends the session.
    w.banner.show_message(w.banner.kind, "Something to dismiss")
    kb.tab_to(w.stream_area)
    kb.click(Qt.Key.Key_Escape)
    assert not w.banner.isVisible()
    kb.click(Qt.Key.Key_Enter, Mod.ControlModifier | Mod.KeypadModifier)
    app.wait_session(SessionState.ENDED)
    assert app.sim.stats()["ended"] == 1


def test_a_chosen_push_to_talk_key_works_while_typing(make_app) -> None:
    app = make_app(settings=Settings(user_id=USER_ID, push_to_talk_key="F2"))
    app.go_live()
    kb = Keyboard(app.qtbot, app.window)
    w = app.window
    kb.click(Qt.Key.Key_L, Mod.ControlModifier)
    kb.type("half a thought")
    with app.qtbot.waitSignal(app.controller.voice.take_started, timeout=10_000):
        kb.down(Qt.Key.Key_F2)
    assert w.talk_bar.talking and w.message_edit.hasFocus()
    app.qtbot.wait(600)
    kb.up(Qt.Key.Key_F2)
    assert not w.talk_bar.talking
    assert w.message_edit.text() == "half a thought", "the text box kept its text"
    # Space is no longer push-to-talk: on the stream it does nothing at all.
    kb.tab_to(w.stream_area)
    kb.down(Qt.Key.Key_Space)
    assert not w.talk_bar.talking
    kb.up(Qt.Key.Key_Space)
    assert "F2" in w.talk_bar.talk_button.toolTip()


def test_a_too_short_hold_says_why_nothing_was_sent(keys) -> None:
    app, kb = keys
    w = app.window
    app.go_live()
    hints: list[str] = []
    w.announcer.announced.connect(lambda text, _urgent: hints.append(text))
    kb.tab_to(w.talk_bar.talk_button)
    kb.click(Qt.Key.Key_Space)  # press and release at once: a tap
    assert "Too short" in w.talk_bar.state_label.full_text()
    assert any("Too short" in h for h in hints), "a screen reader hears it too"
    app.qtbot.waitUntil(lambda: app.controller.voice.controller.state == "idle", timeout=5_000)
    assert not [m for m in app.sim.messages if "audio_base64_pcm" in m], "nothing was sent"


def test_focus_is_always_visible(keys) -> None:
    """Every control the Tab key reaches draws a ring in the accent colour when focused."""
    app, kb = keys
    w = app.window
    app.go_live()
    accent = app.window.palette().color(app.window.palette().ColorRole.Link)
    kb.tab_to(w.stream_area)
    checked = 0
    for _ in range(40):  # bounded: a cycle that never comes back must fail, not spin forever
        widget = kb.focus
        # The text box has no edge of its own: the composer around it shows the ring.
        ring = w.side_panel.composer if widget is w.message_edit else widget
        image = ring.grab().toImage()
        edge = [image.pixelColor(x, y) for x, y in
                ((image.width() // 2, 0), (image.width() // 2, 1), (0, image.height() // 2),
                 (1, image.height() // 2), (image.width() // 2, image.height() - 1),
                 (image.width() // 2, image.height() - 2))]
        assert any(_close(c.name(), accent.name()) for c in edge), \
            f"{widget.accessibleName()!r} shows no focus ring"
        checked += 1
        kb.click(Qt.Key.Key_Tab)
        if kb.focus is w.stream_area:
            break
    else:
        raise AssertionError("Tab never came back round to the stream area")
    assert checked >= 12


def _close(a: str, b: str, tolerance: int = 40) -> bool:
    ca, cb = (tuple(int(c[i:i + 2], 16) for i in (1, 3, 5)) for c in (a, b))
    return sum(abs(x - y) for x, y in zip(ca, cb, strict=True)) <= tolerance



def test_clicking_a_button_leaves_space_for_talking(keys) -> None:
    """A mouse click on Start does not take the focus, so Space does not press Start again
    (which would end the session): it still talks."""
    app, kb = keys
    w = app.window
    assert kb.focus is w.stream_area
    QTest.mouseClick(w.session_button, Qt.MouseButton.LeftButton)
    app.wait_session(SessionState.LIVE)
    app.wait_stream(StreamStage.PLAYING)
    assert kb.focus is w.stream_area
    with app.qtbot.waitSignal(app.controller.voice.take_started, timeout=10_000):
        kb.down(Qt.Key.Key_Space)
    assert w.talk_bar.talking and app.controller.session.state is SessionState.LIVE
    kb.up(Qt.Key.Key_Space)
    # Clicking into the text box does take the focus (to type), and Space types there.
    QTest.mouseClick(w.message_edit, Qt.MouseButton.LeftButton)
    assert kb.focus is w.message_edit

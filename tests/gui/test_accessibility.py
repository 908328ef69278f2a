"""Screen readers: every control has a name and a description, what changes is announced, the
conversation reads as text.

No screen reader can run here (there is no accessibility bus), so the announcements are checked
where they leave the app: a spy around QAccessible.updateAccessibility records each event and
passes it on to Qt unchanged.
"""

from __future__ import annotations

import itertools

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAccessible, QAccessibleAnnouncementEvent, QAccessibleEvent
from PySide6.QtWidgets import QComboBox, QTabBar, QWidget

from ravatar_live.api.models import IncomingReply
from ravatar_live.live.states import SessionState
from ravatar_live.ui.banner import BannerKind
from ravatar_live.ui.conversation import Role
from ravatar_live.ui.shortcuts_dialog import ShortcutsDialog

pytestmark = pytest.mark.gui


def focusable(root: QWidget) -> list[QWidget]:
    """Everything Tab can reach under `root` (a combo's own popup parts are the combo's)."""
    found = []
    for widget in [root, *root.findChildren(QWidget)]:
        tab_reaches = bool(widget.focusPolicy().value & Qt.FocusPolicy.TabFocus.value)
        if not tab_reaches or (widget.isWindow() and widget is not root):
            continue
        if any(isinstance(a, QComboBox) for a in _ancestors(widget)):
            continue
        if widget.focusProxy() is not None:
            continue  # the proxy is what takes the focus
        found.append(widget)
    return found


def _ancestors(widget: QWidget) -> list[QWidget]:
    out, parent = [], widget.parentWidget()
    while parent is not None:
        out.append(parent)
        parent = parent.parentWidget()
    return out


def unnamed(root: QWidget) -> list[str]:
    """Controls whose accessible interface (what a screen reader asks) lacks a name or a
    description."""
    problems = []
    for widget in focusable(root):
        face = QAccessible.queryAccessibleInterface(widget)
        assert face is not None
        if isinstance(widget, QTabBar):
            # A tab bar speaks for its current tab; each tab is its own item with a name and
            # a description (Qt gives the bar itself none).
            faces = [face.child(i) for i in range(widget.count())]
            problems += [f"tab {f.text(QAccessible.Text.Name)!r} is not described"
                         for f in faces if not f.text(QAccessible.Text.Description)]
            continue
        name = face.text(QAccessible.Text.Name).strip()
        if not name:
            problems.append(f"{type(widget).__name__} {widget.objectName()!r} has no name")
        if not face.text(QAccessible.Text.Description).strip():
            problems.append(f"{type(widget).__name__} {name!r} has no description")
    return problems


@pytest.fixture
def spoken(monkeypatch) -> list[tuple[str, bool]]:
    """(text, assertive) of every announcement event the app hands to Qt."""
    events: list[tuple[str, bool]] = []
    real = QAccessible.updateAccessibility

    def spy(event: QAccessibleEvent) -> None:
        if isinstance(event, QAccessibleAnnouncementEvent):
            events.append((event.message(), event.politeness()
                           is QAccessible.AnnouncementPoliteness.Assertive))
        real(event)

    monkeypatch.setattr(QAccessible, "updateAccessibility", spy)
    return events


def test_every_control_has_a_name_and_a_description(make_app) -> None:
    app = make_app()
    app.go_live()
    window = app.window
    window.banner.post("test", BannerKind.ERROR, "A problem", "Its words.",
                       actions=(("Try again", lambda: None),))
    window.conversation.add_avatar_turn("Hello.")
    assert len(focusable(window)) >= 14
    assert unnamed(window) == []
    settings = window.make_settings_dialog()
    app.qtbot.addWidget(settings)
    assert unnamed(settings) == []
    shortcuts = ShortcutsDialog("Space", window)
    app.qtbot.addWidget(shortcuts)
    assert unnamed(shortcuts) == []


def test_state_changes_banners_and_replies_are_announced(make_app, spoken) -> None:
    app = make_app()
    app.go_live()
    said = [text for text, _ in spoken]
    assert "Status: Live" in said
    assert any(text.startswith("Live.") for text in said), "the Live banner"
    # A reply is announced politely, with who said it.
    app.controller.chat.on_server_message(IncomingReply("It is sunny."))
    assert ("Rebecca says: It is sunny.", False) in spoken
    # An error is announced at once (assertive).
    app.sim.inject_fault(route="/endLiveSession", status=503, count=None)
    app.window.session_button.click()
    app.wait_session(SessionState.ENDED)
    assert ("Session ended. The service did not confirm the end in time; it will be released "
            "shortly.", True) in spoken
    # The same words are not repeated back to back.
    assert all(a != b for a, b in itertools.pairwise(spoken))


def test_the_conversation_reads_as_text(make_app) -> None:
    app = make_app()
    conversation = app.window.conversation
    conversation.add_user_turn("What is the weather like?", "typed")
    conversation.add_avatar_turn("It is sunny.")
    QAccessible.setActive(True)
    try:
        texts = []
        for bubble in conversation.bubbles():
            label = QAccessible.queryAccessibleInterface(bubble.text_label)
            assert label is not None and label.role() is QAccessible.Role.StaticText
            texts.append(label.text(QAccessible.Text.Name))
            whole = QAccessible.queryAccessibleInterface(bubble)
            assert whole is not None
            assert bubble.entry.text in whole.text(QAccessible.Text.Name)
        assert texts == conversation.texts(Role.USER)[:1] + conversation.texts(Role.AVATAR)
        assert conversation.bubbles()[0].accessibleName().startswith("You at ")
        assert conversation.bubbles()[1].accessibleName().startswith("Rebecca at ")
    finally:
        QAccessible.setActive(False)


def test_the_status_chip_says_its_state_by_name(make_app) -> None:
    app = make_app()
    chip = app.window.status_chip
    assert chip.accessibleName() == "Connected"
    app.go_live()
    assert chip.accessibleName() == "● Live"
    assert chip.accessibleDescription() == "Connection and session status"

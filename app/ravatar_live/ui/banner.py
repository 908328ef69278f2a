"""The banner over the stream: one message at a time, the most important one (never a dialog).

Messages are posted under a topic ("connection", "link", "session", "stream", "voice"...). Each
topic holds its latest message; the banner shows the most severe of them (error > warning >
info > success), the newest among equals. So an error stays up while a lesser warning arrives,
and when the error is dismissed or withdrawn the warning underneath shows. A success message
is news only while it shows: once covered, it is dropped rather than shown again later. A
message re-posted with the same title only updates its text (a countdown), keeping its buttons
and their focus.

`show_message()` / `clear()` are the simple form used by parts that own one message (the stream
problem presenter): they post to, and withdraw, the "general" topic.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from PySide6.QtCore import QSize, Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ravatar_live.ui.theme import set_variant, tint


class BannerKind(StrEnum):
    INFO = "info"
    SUCCESS = "success"
    WARNING = "warning"
    ERROR = "error"


SEVERITY = {BannerKind.SUCCESS: 0, BannerKind.INFO: 1, BannerKind.WARNING: 2,
            BannerKind.ERROR: 3}
_ICONS = {
    BannerKind.INFO: ("info", "info"),
    BannerKind.SUCCESS: ("check", "success"),
    BannerKind.WARNING: ("warning", "warning"),
    BannerKind.ERROR: ("error", "error"),
}
GENERAL = "general"

BannerActions = tuple[tuple[str, Callable[[], object]], ...]
_serials = itertools.count(1)


@dataclass
class BannerMessage:
    topic: str
    kind: BannerKind
    title: str
    text: str = ""
    actions: BannerActions = ()
    dismissable: bool = True
    serial: int = field(default_factory=lambda: next(_serials))

    @property
    def rank(self) -> tuple[int, int]:
        return SEVERITY[self.kind], self.serial

    def spoken(self) -> str:
        return f"{self.title}. {self.text}" if self.text else self.title


class Banner(QFrame):
    dismissed = Signal()  # the user closed the message shown
    shown_message = Signal()  # another message is now shown (the old one was replaced)
    changed = Signal()  # what is shown changed (another message, or none)
    announced = Signal(str, bool)  # words for a screen reader, and whether they are urgent

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Banner")
        self.setAccessibleName("Status message")
        self._messages: dict[str, BannerMessage] = {}
        self._shown: BannerMessage | None = None
        self._expiry: dict[str, QTimer] = {}
        layout = QHBoxLayout(self)
        layout.setContentsMargins(14, 10, 10, 10)
        layout.setSpacing(12)
        self._icon = QLabel(self)
        self._icon.setFixedSize(22, 22)
        layout.addWidget(self._icon, 0, Qt.AlignmentFlag.AlignTop)
        texts = QVBoxLayout()
        texts.setSpacing(2)
        self._title = QLabel(self)
        self._title.setObjectName("BannerTitle")
        self._title.setWordWrap(True)
        self._text = QLabel(self)
        self._text.setObjectName("BannerText")
        self._text.setWordWrap(True)
        self._text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        texts.addWidget(self._title)
        texts.addWidget(self._text)
        # The buttons live in a widget that is hidden when there are none: an empty row layout
        # would cap the text column's width (a short message then wrapped word by word).
        self._actions = QWidget(self)
        self._actions_row = QHBoxLayout(self._actions)
        self._actions_row.setSpacing(8)
        self._actions_row.setContentsMargins(0, 6, 0, 0)
        self._actions.hide()
        texts.addWidget(self._actions)
        layout.addLayout(texts, 1)
        self._close = QToolButton(self)
        self._close.setObjectName("IconButton")
        tint(self._close, "close", "muted")
        self._close.setIconSize(QSize(14, 14))
        self._close.setToolTip("Dismiss (Esc)")
        self._close.setAccessibleName("Dismiss message")
        self._close.setAccessibleDescription("Hides this message")
        self._close.clicked.connect(self._on_close)
        layout.addWidget(self._close, 0, Qt.AlignmentFlag.AlignTop)
        self._buttons: list[QPushButton] = []
        self.hide()

    # --- what is shown, for the window and for tests ----------------------------------------
    @property
    def kind(self) -> BannerKind:
        return self._shown.kind if self._shown is not None else BannerKind.INFO

    @property
    def topic(self) -> str | None:
        return self._shown.topic if self._shown is not None else None

    @property
    def dismissable(self) -> bool:
        return self._shown is not None and self._shown.dismissable

    def title(self) -> str:
        return self._title.text()

    def text(self) -> str:
        return self._text.text()

    def message(self, topic: str) -> BannerMessage | None:
        """The message waiting (or shown) under `topic`."""
        return self._messages.get(topic)

    def topics(self) -> list[str]:
        return list(self._messages)

    def action_buttons(self) -> list[QPushButton]:
        return list(self._buttons)

    def action(self, label: str) -> QPushButton:
        for button in self._buttons:
            if button.text() == label:
                return button
        raise KeyError(label)

    def focus_chain(self) -> list[QWidget]:
        """The banner's controls in Tab order (its buttons, then Dismiss)."""
        chain: list[QWidget] = list(self._buttons)
        if self._close.isVisibleTo(self):
            chain.append(self._close)
        return chain

    # --- posting -----------------------------------------------------------------------------
    def post(self, topic: str, kind: BannerKind, title: str, text: str = "", *,
             actions: BannerActions = (), dismissable: bool = True,
             timeout_ms: int = 0) -> None:
        """Put `topic`'s message up (replacing its earlier one); the most important message of
        all topics is shown. With `timeout_ms` it withdraws itself after that long."""
        old = self._messages.get(topic)
        if old is not None and (old.kind, old.title, old.actions, old.dismissable) == (
                kind, title, actions, dismissable):
            old.text = text  # the same message, newer words (a countdown): keep its place
            if old is self._shown:
                self._set_text(text)
        else:
            self._messages[topic] = BannerMessage(topic, kind, title, text, actions, dismissable)
        self._expire(topic, timeout_ms)
        self._refresh()

    def withdraw(self, topic: str, title: str | None = None) -> None:
        """Take `topic`'s message down (only if it has `title`, when given)."""
        message = self._messages.get(topic)
        if message is None or (title is not None and message.title != title):
            return
        del self._messages[topic]
        self._expire(topic, 0)
        self._refresh()

    def withdraw_all(self) -> None:
        for topic in list(self._messages):
            self._expire(topic, 0)
        self._messages.clear()
        self._refresh()

    def show_message(self, kind: BannerKind, title: str, text: str = "", *,
                     actions: BannerActions = (), dismissable: bool = True) -> None:
        """Post a message under the general topic."""
        self.post(GENERAL, kind, title, text, actions=actions, dismissable=dismissable)

    def set_text(self, text: str) -> None:
        """New words for the message shown."""
        if self._shown is not None:
            self._shown.text = text
            self._set_text(text)

    @Slot()
    def clear(self) -> None:
        """Withdraw what `show_message` posted, or else the message shown; the next most
        important one shows."""
        if GENERAL in self._messages:
            self.withdraw(GENERAL)
        elif self._shown is not None:
            self.withdraw(self._shown.topic)

    # --- internals ---------------------------------------------------------------------------
    def _expire(self, topic: str, timeout_ms: int) -> None:
        timer = self._expiry.pop(topic, None)
        if timer is not None:
            timer.stop()
            timer.deleteLater()
        if timeout_ms > 0:
            message = self._messages[topic]
            timer = QTimer(self)
            timer.setSingleShot(True)
            timer.timeout.connect(lambda: self._expired(message))
            timer.start(timeout_ms)
            self._expiry[topic] = timer

    def _expired(self, message: BannerMessage) -> None:
        if self._messages.get(message.topic) is message:
            self._expiry.pop(message.topic, None)
            del self._messages[message.topic]
            self._refresh()

    def _refresh(self) -> None:
        top = max(self._messages.values(), key=lambda m: m.rank, default=None)
        if top is self._shown:
            return
        old = self._shown
        if old is not None and old.kind is BannerKind.SUCCESS and \
                self._messages.get(old.topic) is old:
            # "It worked" is news only while it shows: covered by anything else, it goes.
            self._expire(old.topic, 0)
            del self._messages[old.topic]
        self._shown = top
        if top is None:
            self.hide()
            self._buttons = []
            self.changed.emit()
            return
        self._render(top)
        self.changed.emit()
        self.shown_message.emit()
        self.announced.emit(top.spoken(), top.kind in (BannerKind.ERROR, BannerKind.WARNING))

    def _render(self, message: BannerMessage) -> None:
        set_variant(self, "kind", message.kind.value)
        name, role = _ICONS[message.kind]
        tint(self._icon, name, role, 22)
        self._title.setText(message.title)
        self._set_text(message.text)
        while self._actions_row.count():
            item = self._actions_row.takeAt(0)
            if item is not None and (widget := item.widget()) is not None:
                widget.hide()
                widget.deleteLater()
        self._buttons = []
        for label, callback in message.actions:
            button = QPushButton(label, self._actions)
            button.setAccessibleName(label)
            button.setAccessibleDescription(f"{label}: about “{message.title}”")
            button.clicked.connect(callback)
            self._actions_row.addWidget(button)
            self._buttons.append(button)
        if message.actions:
            set_variant(self._buttons[0], "variant", "primary")
            self._actions_row.addStretch(1)
        self._actions.setVisible(bool(message.actions))
        self._close.setVisible(message.dismissable)
        self.setAccessibleName(f"{message.kind.value.capitalize()}: {message.title}")
        self.show()
        self.raise_()

    def _set_text(self, text: str) -> None:
        self._text.setText(text)
        self._text.setVisible(bool(text))
        self.setAccessibleDescription(text)

    @Slot()
    def dismiss(self) -> None:
        """The user closes the message shown (the close button, or Esc)."""
        if self._shown is None or not self._shown.dismissable:
            return
        self.withdraw(self._shown.topic)
        self.dismissed.emit()

    @Slot()
    def _on_close(self) -> None:
        self.dismiss()

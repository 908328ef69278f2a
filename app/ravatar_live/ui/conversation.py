"""The conversation pane: user turns on the right, the avatar's on the left, notices muted.

An avatar reply that answered a measured turn carries a small latency figure in its meta line
(how long the reply text took, and when the avatar's voice started on the stream).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from PySide6.QtCore import Qt, QTimer, Slot
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from ravatar_live.live.turn_latency import Turn


class Role(StrEnum):
    USER = "user"
    AVATAR = "avatar"
    NOTICE = "notice"


@dataclass(frozen=True)
class Entry:
    role: Role
    text: str
    when: datetime
    via: str = ""  # "typed" | "voice" for user turns


class _Bubble(QFrame):
    def __init__(self, entry: Entry, author: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Bubble")
        self.setProperty("role", entry.role.value)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(11, 8, 11, 7)
        layout.setSpacing(3)
        text = QLabel(entry.text, self)
        self.text_label = text
        text.setObjectName("BubbleText")
        text.setWordWrap(True)
        text.setTextFormat(Qt.TextFormat.PlainText)
        text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        text.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        meta_parts = [author, entry.when.strftime("%H:%M")]
        if entry.via == "voice":
            meta_parts.insert(1, "voice")
        meta = QLabel(" · ".join(meta_parts), self)
        meta.setObjectName("BubbleMeta")
        self.latency_label = QLabel(self)
        self.latency_label.setObjectName("BubbleLatency")
        self.latency_label.hide()
        meta_row = QHBoxLayout()
        meta_row.setContentsMargins(0, 0, 0, 0)
        meta_row.setSpacing(8)
        if entry.role is Role.USER:
            meta_row.addStretch(1)
        meta_row.addWidget(meta)
        meta_row.addWidget(self.latency_label)
        if entry.role is not Role.USER:
            meta_row.addStretch(1)
        layout.addWidget(text)
        layout.addLayout(meta_row)
        self._accessible = f"{author} at {entry.when:%H:%M}: {entry.text}"
        self.setAccessibleName(self._accessible)

    def set_latency(self, figure: str, summary: str) -> None:
        self.latency_label.setText(figure)
        self.latency_label.setToolTip(summary)
        self.latency_label.setAccessibleName(summary)
        self.latency_label.show()
        self.setAccessibleName(f"{self._accessible} ({summary})")


def latency_figure(turn: Turn) -> str:
    """'reply 0.42 s · voice 1.31 s': the reply time, then when the avatar's voice began
    (both from the end of the user's turn)."""
    parts = [f"reply {turn.reply_s:.2f} s" if turn.reply_s is not None else "reply \u2014"]
    if turn.speaking_s is not None:
        parts.append(f"voice {turn.speaking_s:.2f} s")
    return " · ".join(parts)


class ConversationView(QScrollArea):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Conversation")
        self.setAccessibleName("Conversation")
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFrameShape(QFrame.Shape.NoFrame)
        body = QWidget(self)
        body.setObjectName("ConversationBody")
        self._layout = QVBoxLayout(body)
        self._layout.setContentsMargins(12, 12, 12, 12)
        self._layout.setSpacing(10)
        self._empty = QLabel("Say hello: type below, or talk once the session is live.", body)
        self._empty.setObjectName("EmptyConversation")
        self._empty.setWordWrap(True)
        self._empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._layout.addStretch(1)
        self._layout.addWidget(self._empty)
        self._layout.addStretch(1)
        self.setWidget(body)
        self._entries: list[Entry] = []
        self._bubbles: list[_Bubble] = []
        self._last_avatar: _Bubble | None = None
        self._turn_bubbles: dict[int, _Bubble] = {}  # turn number -> the reply that answered it
        self.avatar_name = "Avatar"

    @property
    def entries(self) -> list[Entry]:
        return list(self._entries)

    def texts(self, role: Role | None = None) -> list[str]:
        return [e.text for e in self._entries if role is None or e.role is role]

    def latency_figures(self) -> list[str]:
        """The latency figures shown beside avatar replies, oldest first."""
        return [b.latency_label.text() for b in self._bubbles if b.latency_label.text()]

    @Slot(object)
    def show_turn_latency(self, turn: Turn) -> None:
        """TurnLatencyTracker.turn_updated: put the turn's figures beside the reply to it (the
        newest avatar reply, once the reply time is known)."""
        bubble = self._turn_bubbles.get(turn.number)
        if bubble is None:
            latest = self._last_avatar
            if turn.reply_s is None or latest is None or latest in self._turn_bubbles.values():
                return
            bubble = self._turn_bubbles[turn.number] = latest
        bubble.set_latency(latency_figure(turn), turn.summary())

    @Slot(str, str)
    def add_user_turn(self, text: str, via: str = "typed") -> None:
        self._add(Entry(Role.USER, text, datetime.now(), via))

    @Slot(str)
    def add_avatar_turn(self, text: str) -> None:
        self._add(Entry(Role.AVATAR, text, datetime.now()))

    @Slot(str)
    def add_notice(self, text: str) -> None:
        self._add(Entry(Role.NOTICE, text, datetime.now()))

    def _add(self, entry: Entry) -> None:
        if not self._entries:
            # Drop the empty-state hint and the centring stretch below it.
            self._empty.hide()
            last = self._layout.takeAt(self._layout.count() - 1)
            del last
        self._entries.append(entry)
        row = QHBoxLayout()
        row.setSpacing(0)
        if entry.role is Role.NOTICE:
            label = QLabel(f"{entry.text}  ·  {entry.when:%H:%M}")
            label.setObjectName("Notice")
            label.setWordWrap(True)
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            label.setTextFormat(Qt.TextFormat.PlainText)
            row.addWidget(label)
        else:
            bubble = _Bubble(entry, "You" if entry.role is Role.USER else self.avatar_name)
            self._bubbles.append(bubble)
            if entry.role is Role.AVATAR:
                self._last_avatar = bubble
            self._fit(bubble)
            if entry.role is Role.USER:
                row.addStretch(1)
                row.addWidget(bubble)
            else:
                row.addWidget(bubble)
                row.addStretch(1)
        self._layout.addLayout(row)
        # Scroll after the layout has settled, so the new turn is really in view.
        QTimer.singleShot(0, self._scroll_to_end)

    @Slot()
    def _scroll_to_end(self) -> None:
        bar = self.verticalScrollBar()
        bar.setValue(bar.maximum())

    def _fit(self, bubble: _Bubble) -> None:
        limit = max(160, int(self.viewport().width() * 0.82))
        bubble.setMaximumWidth(limit)
        # A wrapped QLabel prefers a narrow, tall shape; long turns should use the full width.
        label = bubble.text_label
        natural = label.fontMetrics().horizontalAdvance(label.text()) + 4
        label.setMinimumWidth(min(natural, limit - 24))

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        for bubble in self._bubbles:
            self._fit(bubble)

"""The conversation pane: user turns on the right, the avatar's on the left, notices muted.

The newest message stays in view while the user is at the bottom; once they scroll up to read,
new messages no longer pull them down and a "New messages" button offers the way back. A voice
turn shows at once as "Voice message…" and gets its words when the server has heard them. An
avatar reply that answered a measured turn carries a small latency figure in its meta line.

Only the newest MAX_SHOWN_MESSAGES messages keep their widgets: each message is a few styled
widgets (measured ~95 kB of native memory per bubble), and a long conversation must not grow
the app by that much per turn. Older ones leave the pane (a line at the top says so); their
text stays in `entries`.
"""

from __future__ import annotations

from collections import deque
from dataclasses import replace
from datetime import datetime

from PySide6.QtCore import QEvent, Qt, Signal, Slot
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from ravatar_live.live.turn_latency import Turn
from ravatar_live.ui.bubble import Bubble, Entry, Role, breakable

__all__ = ["ConversationView", "Entry", "Role", "latency_figure"]

PENDING_VOICE_TEXT = "Voice message…"
UNHEARD_VOICE_TEXT = "Voice message (no words recognised)"
BUBBLE_SHARE = 0.82  # of the pane's width
BUBBLE_MAX_CHARS = 68  # lines longer than this are hard to read, however wide the pane
AT_BOTTOM_SLACK = 8  # pixels: "at the bottom" despite rounding
MAX_SHOWN_MESSAGES = 100
EARLIER_NOT_SHOWN = "Earlier messages are no longer shown."


def latency_figure(turn: Turn) -> str:
    """'reply 0.42 s · voice 1.31 s': the reply time, then when the avatar's voice began
    (both from the end of the user's turn)."""
    parts = [f"reply {turn.reply_s:.2f} s" if turn.reply_s is not None else "reply \u2014"]
    if turn.speaking_s is not None:
        parts.append(f"voice {turn.speaking_s:.2f} s")
    return " · ".join(parts)


class ConversationView(QScrollArea):
    message_added = Signal(str, str)  # role, text (for announcements)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Conversation")
        self.setAccessibleName("Conversation")
        self.setAccessibleDescription("The messages so far, oldest first. Use the arrow and "
                                      "Page keys to scroll.")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFrameShape(QFrame.Shape.NoFrame)
        body = QWidget(self)
        body.setObjectName("ConversationBody")
        self._layout = QVBoxLayout(body)
        self._layout.setContentsMargins(10, 10, 10, 10)
        self._layout.setSpacing(10)
        self._empty = QLabel("Say hello: type below, or talk once the session is live.", body)
        self._empty.setObjectName("EmptyConversation")
        self._empty.setWordWrap(True)
        self._empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._layout.addStretch(1)
        self._layout.addWidget(self._empty)
        self._layout.addStretch(1)
        self._earlier = QLabel(EARLIER_NOT_SHOWN, body)
        self._earlier.setObjectName("Notice")
        self._earlier.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._earlier.hide()
        self.setWidget(body)
        self._rows: deque[tuple[QHBoxLayout, QWidget]] = deque()  # shown messages, oldest first
        self._entries: list[Entry] = []
        self._bubbles: list[Bubble] = []
        self._pending: list[tuple[int, Bubble]] = []  # (entry index, bubble) of unheard takes
        self._last_avatar: Bubble | None = None
        self._turn_bubbles: dict[int, Bubble] = {}  # turn number -> the reply that answered it
        self._follow = True  # keep the newest message in view
        self.avatar_name = "Avatar"

        self.jump_button = QPushButton("New messages ↓", self)
        self.jump_button.setObjectName("JumpToNewest")
        self.jump_button.setAccessibleName("Jump to the newest message")
        self.jump_button.setAccessibleDescription("New messages arrived below what you read")
        self.jump_button.clicked.connect(self.scroll_to_newest)
        self.jump_button.hide()
        bar = self.verticalScrollBar()
        bar.rangeChanged.connect(self._on_range_changed)
        bar.valueChanged.connect(self._on_scrolled)

    # --- for the window and for tests --------------------------------------------------------
    @property
    def entries(self) -> list[Entry]:
        return list(self._entries)

    def texts(self, role: Role | None = None) -> list[str]:
        return [e.text for e in self._entries
                if (role is None or e.role is role) and not e.pending]

    def bubbles(self) -> list[Bubble]:
        return list(self._bubbles)

    def latency_figures(self) -> list[str]:
        """The latency figures shown beside avatar replies, oldest first."""
        return [b.latency_label.full_text() for b in self._bubbles
                if b.latency_label.full_text()]

    @property
    def following(self) -> bool:
        """True while the newest message is kept in view."""
        return self._follow

    # --- turns -------------------------------------------------------------------------------
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
        bubble.fit(self._bubble_limit())

    @Slot(str, str)
    def add_user_turn(self, text: str, via: str = "typed") -> None:
        if via == "voice" and self._pending:
            index, bubble = self._pending.pop(0)
            entry = replace(self._entries[index], text=text, pending=False)
            self._entries[index] = entry
            bubble.set_entry(entry)
            bubble.fit(self._bubble_limit())
            self.message_added.emit(Role.USER.value, text)
            return
        self._add(Entry(Role.USER, text, datetime.now(), via))

    @Slot()
    def add_pending_voice_turn(self) -> None:
        """A voice take went out: show the user's bubble now; the words follow."""
        self._add(Entry(Role.USER, PENDING_VOICE_TEXT, datetime.now(), "voice", pending=True))

    @Slot(str)
    def add_avatar_turn(self, text: str) -> None:
        # A take the reply answered without quoting it: the server heard no words in it.
        while self._pending:
            index, bubble = self._pending.pop(0)
            entry = replace(self._entries[index], text=UNHEARD_VOICE_TEXT, pending=False)
            self._entries[index] = entry
            bubble.set_entry(entry)
            bubble.fit(self._bubble_limit())
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
        widget: QWidget
        if entry.role is Role.NOTICE:
            label = QLabel(breakable(f"{entry.text}  ·  {entry.when:%H:%M}"))
            label.setObjectName("Notice")
            label.setWordWrap(True)
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            label.setTextFormat(Qt.TextFormat.PlainText)
            label.setAccessibleName(f"Notice at {entry.when:%H:%M}: {entry.text}")
            row.addWidget(label)
            widget = label
        else:
            bubble = widget = Bubble(entry, "You" if entry.role is Role.USER
                                     else self.avatar_name)
            self._bubbles.append(bubble)
            if entry.pending:
                self._pending.append((len(self._entries) - 1, bubble))
            if entry.role is Role.AVATAR:
                self._last_avatar = bubble
            bubble.fit(self._bubble_limit())
            if entry.role is Role.USER:
                row.addStretch(1)
                row.addWidget(bubble)
            else:
                row.addWidget(bubble)
                row.addStretch(1)
        self._layout.addLayout(row)
        self._rows.append((row, widget))
        while len(self._rows) > MAX_SHOWN_MESSAGES:
            self._drop_oldest()
        if not self._follow:
            self._place_jump_button()
            self.jump_button.show()
            self.jump_button.raise_()
        if not entry.pending:
            self.message_added.emit(entry.role.value, entry.text)

    def _drop_oldest(self) -> None:
        """Take the oldest shown message out of the pane and free its widgets."""
        row, widget = self._rows.popleft()
        if self._earlier.isHidden():
            # At the top, under the stretch that keeps a short conversation at the bottom.
            self._layout.insertWidget(1, self._earlier)
            self._earlier.show()
        for index in range(self._layout.count()):
            item = self._layout.itemAt(index)
            if item is not None and item.layout() is row:
                self._layout.takeAt(index)
                break
        if isinstance(widget, Bubble):
            self._bubbles.remove(widget)
            self._pending = [(i, b) for i, b in self._pending if b is not widget]
            self._turn_bubbles = {n: b for n, b in self._turn_bubbles.items() if b is not widget}
            if self._last_avatar is widget:
                self._last_avatar = None
        widget.hide()
        widget.setParent(None)
        widget.deleteLater()
        row.deleteLater()

    # --- keeping the newest in view ----------------------------------------------------------
    @Slot()
    def scroll_to_newest(self) -> None:
        self._follow = True
        bar = self.verticalScrollBar()
        bar.setValue(bar.maximum())
        self.jump_button.hide()

    @Slot(int, int)
    def _on_range_changed(self, _minimum: int, maximum: int) -> None:
        # The content grew (a message, a re-wrap): stay at the bottom if the user was there.
        if self._follow:
            self.verticalScrollBar().setValue(maximum)

    @Slot(int)
    def _on_scrolled(self, value: int) -> None:
        at_bottom = value >= self.verticalScrollBar().maximum() - AT_BOTTOM_SLACK
        self._follow = at_bottom
        if at_bottom:
            self.jump_button.hide()

    def _bubble_limit(self) -> int:
        margins = self._layout.contentsMargins()
        share = int((self.viewport().width() - margins.left() - margins.right()) * BUBBLE_SHARE)
        readable = self.fontMetrics().averageCharWidth() * BUBBLE_MAX_CHARS
        return max(120, min(share, readable))

    def _place_jump_button(self) -> None:
        self.jump_button.adjustSize()
        size = self.jump_button.size()
        viewport = self.viewport().geometry()
        self.jump_button.move(viewport.center().x() - size.width() // 2,
                              viewport.bottom() - size.height() - 10)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._refit()
        self._place_jump_button()

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        super().changeEvent(event)
        if event.type() in (QEvent.Type.StyleChange, QEvent.Type.FontChange):
            self._refit()  # another look may bring another font: text widths change

    def _refit(self) -> None:
        limit = self._bubble_limit()
        for bubble in self._bubbles:
            bubble.fit(limit)

"""One turn of the conversation drawn as a bubble: its text, who said it and when, and for a
reply the latency figure.

The bubble's width is set from outside (`fit`): the text's natural width, capped by the pane.
The text label then gets exactly that width, so the height it asks for is the height it gets
and no line is ever clipped. Very long words (links, ids) get invisible break opportunities so
they wrap instead of running out of the bubble.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from ravatar_live.ui.eliding_label import ElidingLabel

ZERO_WIDTH_SPACE = "\u200b"
LONG_WORD = re.compile(r"\S{24,}")
BUBBLE_PADDING = (11, 8, 11, 7)  # left, top, right, bottom


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
    pending: bool = False  # a voice turn whose words are not known yet


def breakable(text: str) -> str:
    """`text` with zero-width spaces inside long runs, so word wrap can break them."""
    return LONG_WORD.sub(lambda m: ZERO_WIDTH_SPACE.join(
        m.group(0)[i:i + 12] for i in range(0, len(m.group(0)), 12)), text)


class Bubble(QFrame):
    def __init__(self, entry: Entry, author: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Bubble")
        self.setProperty("role", entry.role.value)
        self.entry = entry
        self.author = author
        layout = QVBoxLayout(self)
        layout.setContentsMargins(*BUBBLE_PADDING)
        layout.setSpacing(3)
        self.text_label = QLabel(self)
        self.text_label.setObjectName("BubbleText")
        self.text_label.setWordWrap(True)
        self.text_label.setTextFormat(Qt.TextFormat.PlainText)
        self.text_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.text_label.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Minimum)
        self.meta_label = ElidingLabel("", self, name="BubbleMeta", min_chars=5)
        self.latency_label = ElidingLabel("", self, name="BubbleLatency", min_chars=8)
        self.latency_label.hide()
        meta_row = QHBoxLayout()
        meta_row.setContentsMargins(0, 0, 0, 0)
        meta_row.setSpacing(8)
        if entry.role is Role.USER:
            meta_row.addStretch(1)
        meta_row.addWidget(self.meta_label)
        meta_row.addWidget(self.latency_label)
        if entry.role is not Role.USER:
            meta_row.addStretch(1)
        layout.addWidget(self.text_label)
        layout.addLayout(meta_row)
        self._latency_summary = ""
        self.set_entry(entry)

    def set_entry(self, entry: Entry) -> None:
        """Show `entry` (a pending voice turn gets its words)."""
        self.entry = entry
        self.text_label.setText(breakable(entry.text))
        parts = [self.author, entry.when.strftime("%H:%M")]
        if entry.via == "voice":
            parts.insert(1, "voice")
        self.meta_label.setText(" · ".join(parts))
        self._describe()

    def set_latency(self, figure: str, summary: str) -> None:
        self.latency_label.setText(figure)
        self.latency_label.set_tooltip_text(summary)
        self.latency_label.setAccessibleName(summary)
        self.latency_label.show()
        self._latency_summary = summary
        self._describe()

    def _describe(self) -> None:
        said = f"{self.author} at {self.entry.when:%H:%M}: {self.entry.text}"
        if self._latency_summary:
            said += f" ({self._latency_summary})"
        self.setAccessibleName(said)
        self.text_label.setAccessibleName(self.entry.text)

    def natural_width(self) -> int:
        """The width the bubble's contents would like, on one line each."""
        self.text_label.ensurePolished()  # measured in the style sheet's font, not the default
        self.meta_label.ensurePolished()
        text = self.text_label.fontMetrics().horizontalAdvance(self.entry.text) + 4
        meta = self.meta_label.sizeHint().width()
        if self.latency_label.isVisibleTo(self):
            meta += 8 + self.latency_label.sizeHint().width()
        return max(text, meta)

    def fit(self, limit: int) -> None:
        """Size the bubble for a pane that allows `limit` pixels (its text wraps inside)."""
        left, _top, right, _bottom = BUBBLE_PADDING
        inner = max(40, min(self.natural_width(), limit - left - right))
        self.text_label.setFixedWidth(inner)
        self.setFixedWidth(inner + left + right)

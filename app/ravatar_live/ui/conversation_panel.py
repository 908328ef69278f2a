"""The side panel: the conversation with its title, and the composer to type a message."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QSize
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ravatar_live.ui.conversation import ConversationView
from ravatar_live.ui.eliding_label import ElidingLabel
from ravatar_live.ui.theme import set_variant, tint

MAX_MESSAGE_CHARS = 4000


class ConversationPanel(QFrame):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("SidePanel")
        self.setMinimumWidth(240)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 12, 0, 12)
        layout.setSpacing(8)
        header = QVBoxLayout()
        header.setContentsMargins(14, 0, 14, 0)
        header.setSpacing(0)
        title = ElidingLabel("Conversation", self, name="PanelTitle", min_chars=6)
        self.subtitle = ElidingLabel("", self, name="PanelSubtitle", min_chars=6)
        header.addWidget(title)
        header.addWidget(self.subtitle)
        layout.addLayout(header)
        self.conversation = ConversationView(self)
        layout.addWidget(self.conversation, 1)

        self.composer = QFrame(self)
        self.composer.setObjectName("Composer")
        row = QHBoxLayout(self.composer)
        row.setContentsMargins(4, 4, 4, 4)
        row.setSpacing(6)
        self.message_edit = QLineEdit(self.composer)
        self.message_edit.setPlaceholderText("Type a message")
        self.message_edit.setMaxLength(MAX_MESSAGE_CHARS)
        self.message_edit.setAccessibleName("Message")
        self.message_edit.setAccessibleDescription(
            "Type a message to the avatar and press Enter to send it (Ctrl+L comes here)")
        self.message_edit.setToolTip("Type a message; Enter sends it (Ctrl+L)")
        self.message_edit.installEventFilter(self)
        self.send_button = QPushButton("Send", self.composer)
        tint(self.send_button, "send", "on_primary")
        self.send_button.setIconSize(QSize(16, 16))
        self.send_button.setProperty("variant", "primary")
        self.send_button.setToolTip("Send (Enter)")
        self.send_button.setAccessibleName("Send message")
        self.send_button.setAccessibleDescription("Sends what you typed to the avatar")
        row.addWidget(self.message_edit, 1)
        row.addWidget(self.send_button)
        wrapper = QHBoxLayout()
        wrapper.setContentsMargins(10, 0, 10, 0)
        wrapper.addWidget(self.composer)
        layout.addLayout(wrapper)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        # The text box has no border of its own inside the composer: the composer shows focus.
        if watched is self.message_edit and event.type() in (QEvent.Type.FocusIn,
                                                              QEvent.Type.FocusOut):
            set_variant(self.composer, "focused",
                        "true" if event.type() == QEvent.Type.FocusIn else "false")
        return False

    def show_avatar_name(self, name: str) -> None:
        self.conversation.avatar_name = name
        self.subtitle.setText(f"with {name}")

    def set_can_type(self, can_type: bool) -> None:
        """Typing needs a connection; sending also needs some text."""
        self.message_edit.setEnabled(can_type)
        self.send_button.setEnabled(can_type and bool(self.message_edit.text().strip()))

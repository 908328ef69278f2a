"""The side panel: the conversation with its title, and the composer to type a message."""

from __future__ import annotations

from PySide6.QtCore import QSize
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ravatar_live.ui.conversation import ConversationView
from ravatar_live.ui.theme import icon


class ConversationPanel(QFrame):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("SidePanel")
        self.setMinimumWidth(320)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 14, 0, 14)
        layout.setSpacing(8)
        header = QVBoxLayout()
        header.setContentsMargins(16, 0, 16, 0)
        header.setSpacing(0)
        title = QLabel("Conversation", self)
        title.setObjectName("PanelTitle")
        self.subtitle = QLabel("", self)
        self.subtitle.setObjectName("PanelSubtitle")
        header.addWidget(title)
        header.addWidget(self.subtitle)
        layout.addLayout(header)
        self.conversation = ConversationView(self)
        layout.addWidget(self.conversation, 1)

        composer = QFrame(self)
        composer.setObjectName("Composer")
        row = QHBoxLayout(composer)
        row.setContentsMargins(6, 4, 4, 4)
        row.setSpacing(6)
        self.message_edit = QLineEdit(composer)
        self.message_edit.setPlaceholderText("Type a message…")
        self.message_edit.setAccessibleName("Message")
        self.message_edit.setStyleSheet("QLineEdit { border: none; background: transparent; }")
        self.send_button = QPushButton(composer)
        self.send_button.setIcon(icon("send", "#ffffff"))
        self.send_button.setIconSize(QSize(16, 16))
        self.send_button.setText("Send")
        self.send_button.setProperty("variant", "primary")
        self.send_button.setToolTip("Send (Enter)")
        self.send_button.setAccessibleName("Send message")
        row.addWidget(self.message_edit, 1)
        row.addWidget(self.send_button)
        wrapper = QHBoxLayout()
        wrapper.setContentsMargins(12, 0, 12, 0)
        wrapper.addWidget(composer)
        layout.addLayout(wrapper)

    def show_avatar_name(self, name: str) -> None:
        self.conversation.avatar_name = name
        self.subtitle.setText(f"with {name}")

    def set_can_type(self, can_type: bool) -> None:
        """Typing needs a connection; sending also needs some text."""
        self.message_edit.setEnabled(can_type)
        self.send_button.setEnabled(can_type and bool(self.message_edit.text().strip()))

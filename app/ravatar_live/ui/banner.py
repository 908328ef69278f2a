"""A small banner shown over the stream for stages and errors (never a modal dialog)."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum

from PySide6.QtCore import QSize, Qt, Signal, Slot
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ravatar_live.ui.theme import ACCENT, DANGER, SUCCESS, WARNING, icon, set_variant


class BannerKind(StrEnum):
    INFO = "info"
    SUCCESS = "success"
    WARNING = "warning"
    ERROR = "error"


_ICONS = {
    BannerKind.INFO: ("info", ACCENT),
    BannerKind.SUCCESS: ("check", SUCCESS),
    BannerKind.WARNING: ("warning", WARNING),
    BannerKind.ERROR: ("error", DANGER),
}


class Banner(QFrame):
    dismissed = Signal()
    shown_message = Signal()  # a new message replaced whatever was shown

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Banner")
        self.setAccessibleName("Status message")
        self._kind = BannerKind.INFO
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
        self._text = QLabel(self)
        self._text.setObjectName("BannerText")
        self._text.setWordWrap(True)
        self._text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        texts.addWidget(self._title)
        texts.addWidget(self._text)
        self._actions_row = QHBoxLayout()
        self._actions_row.setSpacing(8)
        self._actions_row.setContentsMargins(0, 6, 0, 0)
        texts.addLayout(self._actions_row)
        layout.addLayout(texts, 1)
        self._close = QToolButton(self)
        self._close.setObjectName("IconButton")
        self._close.setIcon(icon("close", "#aab2c5"))
        self._close.setIconSize(QSize(14, 14))
        self._close.setToolTip("Dismiss")
        self._close.setAccessibleName("Dismiss message")
        self._close.clicked.connect(self._on_close)
        layout.addWidget(self._close, 0, Qt.AlignmentFlag.AlignTop)
        self._buttons: list[QPushButton] = []
        self.hide()

    # --- for the window and for tests --------------------------------------------------------
    @property
    def kind(self) -> BannerKind:
        return self._kind

    def title(self) -> str:
        return self._title.text()

    def text(self) -> str:
        return self._text.text()

    def action_buttons(self) -> list[QPushButton]:
        return list(self._buttons)

    def action(self, label: str) -> QPushButton:
        for button in self._buttons:
            if button.text() == label:
                return button
        raise KeyError(label)

    def show_message(self, kind: BannerKind, title: str, text: str = "", *,
                     actions: tuple[tuple[str, Callable[[], object]], ...] = (),
                     dismissable: bool = True) -> None:
        self.shown_message.emit()
        self._kind = kind
        set_variant(self, "kind", kind.value)
        name, color = _ICONS[kind]
        self._icon.setPixmap(icon(name, color).pixmap(QSize(22, 22)))
        self._title.setText(title)
        self._text.setText(text)
        self._text.setVisible(bool(text))
        while self._actions_row.count():
            item = self._actions_row.takeAt(0)
            if item is not None and (widget := item.widget()) is not None:
                widget.deleteLater()
        self._buttons = []
        for label, callback in actions:
            button = QPushButton(label, self)
            button.setAccessibleName(label)
            button.clicked.connect(callback)
            self._actions_row.addWidget(button)
            self._buttons.append(button)
        if actions:
            self._buttons[0].setProperty("variant", "primary")
            self._actions_row.addStretch(1)
        self._close.setVisible(dismissable)
        self.setAccessibleDescription(f"{title}. {text}")
        self.show()
        self.raise_()
        self.adjustSize()
        parent = self.parentWidget()
        if parent is not None:
            parent.updateGeometry()

    def set_text(self, text: str) -> None:
        self._text.setText(text)
        self._text.setVisible(bool(text))

    @Slot()
    def clear(self) -> None:
        self.hide()

    @Slot()
    def _on_close(self) -> None:
        self.hide()
        self.dismissed.emit()

"""The list of keyboard shortcuts (F1): each shortcut, the push-to-talk key, the navigation keys."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ravatar_live.ui.shortcuts import NAVIGATION, SHORTCUTS, native


def shortcut_rows(push_to_talk_key: str) -> list[tuple[str, str]]:
    """(what it does, keys) for every row of the list."""
    rows = [("Hold to talk (when the focused control does not use the key)",
             native(push_to_talk_key))]
    rows += [(s.label, " or ".join(native(k) for k in s.keys)) for s in SHORTCUTS]
    rows += list(NAVIGATION)
    return rows


class ShortcutsDialog(QDialog):
    def __init__(self, push_to_talk_key: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        intro = QLabel("Everything in the window works from the keyboard. The push-to-talk key "
                       "can be changed in Settings.", self)
        intro.setObjectName("Hint")
        intro.setWordWrap(True)
        rows = shortcut_rows(push_to_talk_key)
        table = QTableWidget(len(rows), 2, self)
        table.setAccessibleName("Keyboard shortcuts")
        table.setAccessibleDescription("What each key does; one row per shortcut")
        table.setHorizontalHeaderLabels(["Action", "Keys"])
        table.verticalHeader().hide()
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setTabKeyNavigation(False)  # Tab leaves the table, arrows move inside it
        table.setWordWrap(True)
        for row, (action, keys) in enumerate(rows):
            table.setItem(row, 0, QTableWidgetItem(action))
            table.setItem(row, 1, QTableWidgetItem(keys))
        header = table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        table.resizeRowsToContents()
        self.table = table
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        close = buttons.button(QDialogButtonBox.StandardButton.Close)
        close.setAccessibleName("Close")
        close.setAccessibleDescription("Closes the list of shortcuts")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 18, 18, 14)
        layout.addWidget(intro)
        layout.addWidget(table, 1)
        layout.addWidget(buttons)
        width = table.horizontalHeader().length() + 60
        height = table.verticalHeader().length() + table.horizontalHeader().height()
        self.resize(max(560, width), min(640, height + intro.sizeHint().height() + 120))

    def rows(self) -> list[tuple[str, str]]:
        def cell(row: int, column: int) -> str:
            item = self.table.item(row, column)
            return item.text() if item is not None else ""

        return [(cell(r, 0), cell(r, 1)) for r in range(self.table.rowCount())]

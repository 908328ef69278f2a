"""The window's commands as actions with their shortcuts (ui/shortcuts.py), and the gear menu.

Each shortcut presses the control a mouse user would press (so a disabled control stays
disabled for the keyboard too); the list of shortcuts opens with F1.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QAbstractButton, QMenu, QWidget

from ravatar_live.ui.banner import Banner
from ravatar_live.ui.shortcuts import Command, sequences, shortcut
from ravatar_live.ui.shortcuts_dialog import ShortcutsDialog
from ravatar_live.ui.theme import tint
from ravatar_live.ui.top_bar import TopBar


def press_if_usable(button: QAbstractButton) -> None:
    """What a click would do, if a click could happen now."""
    if button.isEnabled() and button.isVisible():
        button.click()


class WindowActions(QObject):
    def __init__(self, window: QWidget, banner: Banner, *,
                 handlers: dict[Command, Callable[[], object]],
                 push_to_talk_key: Callable[[], str], parent: QObject | None = None) -> None:
        """`handlers` run each command; `push_to_talk_key` names the key for the F1 list."""
        super().__init__(parent)
        self._window = window
        self._banner = banner
        self._push_to_talk_key = push_to_talk_key
        self.actions: dict[Command, QAction] = {}
        for command, handler in handlers.items():
            action = QAction(shortcut(command).label, window)
            action.setShortcuts(sequences(command))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            action.triggered.connect(handler)
            window.addAction(action)
            self.actions[command] = action
        self.actions[Command.QUIT].setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
        self.actions[Command.SETTINGS].setText("Settings…")
        tint(self.actions[Command.SETTINGS], "settings")
        self.actions[Command.SHORTCUTS].setText("Keyboard shortcuts")
        tint(self.actions[Command.SHORTCUTS], "keyboard")
        self.actions[Command.QUIT].setText("Quit")
        banner.changed.connect(self._on_banner_changed)
        self._on_banner_changed()

    def build_gear_menu(self, top_bar: TopBar, extra: list[QAction]) -> QMenu:
        """Settings, the shortcuts, `extra` (statistics, export), then Quit."""
        menu = QMenu(top_bar.settings_button)
        menu.setObjectName("GearMenu")
        menu.setAccessibleName("Settings and tools")
        menu.addAction(self.actions[Command.SETTINGS])
        menu.addAction(self.actions[Command.SHORTCUTS])
        menu.addSeparator()
        for action in extra:
            menu.addAction(action)
        menu.addSeparator()
        menu.addAction(self.actions[Command.QUIT])
        top_bar.set_gear_menu(menu)
        return menu

    @Slot()
    def show_shortcuts(self) -> ShortcutsDialog:
        """The list of shortcuts, window-modal (the window keeps running behind it)."""
        dialog = ShortcutsDialog(self._push_to_talk_key(), self._window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    @Slot()
    def _on_banner_changed(self) -> None:
        # Esc dismisses the banner only while it shows something dismissable; otherwise the key
        # stays free for whatever has the focus.
        self.actions[Command.DISMISS].setEnabled(self._banner.dismissable)

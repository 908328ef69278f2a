"""Where the window was, how big, whether maximised, and how wide the conversation pane: read
back at start, captured at close (the settings service stores it)."""

from __future__ import annotations

import logging

from PySide6.QtCore import QByteArray, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QMainWindow, QSplitter

from ravatar_live.settings import (
    CONVERSATION_WIDTH_RANGE,
    SettingsError,
    decode_geometry,
    encode_geometry,
)
from ravatar_live.settings_service import WindowState

logger = logging.getLogger(__name__)

MIN_WIDTH, MIN_HEIGHT = 800, 600
DEFAULT_SIZE = (1360, 820)


def default_conversation_width(window_width: int) -> int:
    """About a quarter of the window, never cramped, never wider than needed."""
    return max(260, min(420, window_width * 27 // 100))


def restore_window(window: QMainWindow, state: WindowState) -> None:
    """Put the window back where it was (before it is shown); a first run gets a size that
    fits the screen."""
    if state.geometry:
        try:
            if window.restoreGeometry(QByteArray(decode_geometry(state.geometry))):
                if state.maximized:
                    window.setWindowState(window.windowState()
                                          | Qt.WindowState.WindowMaximized)
                return
        except SettingsError as exc:
            logger.info("window position not restored: %s", exc.user_message)
    screen = window.screen() or QGuiApplication.primaryScreen()
    room = screen.availableGeometry()
    width = max(MIN_WIDTH, min(DEFAULT_SIZE[0], room.width() * 9 // 10))
    height = max(MIN_HEIGHT, min(DEFAULT_SIZE[1], room.height() * 9 // 10))
    window.resize(width, height)
    if state.maximized:
        window.setWindowState(window.windowState() | Qt.WindowState.WindowMaximized)


def place_panes(splitter: QSplitter, conversation_width: int) -> None:
    """Give the conversation pane (the splitter's last) its remembered or default width."""
    total = sum(splitter.sizes()) or splitter.width()
    wanted = conversation_width or default_conversation_width(total)
    stream_side = splitter.widget(0)
    minimum = stream_side.minimumSizeHint().width() if stream_side is not None else 0
    pane = max(1, min(wanted, total - minimum))
    splitter.setSizes([total - pane, pane])


def capture_window(window: QMainWindow, splitter: QSplitter) -> WindowState:
    sizes = splitter.sizes()
    low, high = CONVERSATION_WIDTH_RANGE
    pane = min(max(sizes[-1], low), high) if len(sizes) > 1 and sizes[-1] > 0 else 0
    return WindowState(geometry=encode_geometry(bytes(window.saveGeometry().data())),
                       maximized=window.isMaximized(), conversation_width=pane)

"""Where the window was, how big, whether maximised, and how wide the conversation pane: read
back at start, captured at close (the settings service stores it)."""

from __future__ import annotations

import logging
import math

from PySide6.QtCore import QByteArray, QSize, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QMainWindow, QSplitter, QWidget

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


def restore_window(window: QMainWindow, state: WindowState) -> bool:
    """Put the window back where it was (before it is shown); a first run gets a size that
    fits the screen. True for that first-run size (not restored, not maximised)."""
    if state.geometry:
        try:
            if window.restoreGeometry(QByteArray(decode_geometry(state.geometry))):
                if state.maximized:
                    window.setWindowState(window.windowState()
                                          | Qt.WindowState.WindowMaximized)
                return False
        except SettingsError as exc:
            logger.info("window position not restored: %s", exc.user_message)
    room = first_run_room(window)
    width = max(MIN_WIDTH, min(DEFAULT_SIZE[0], room.width()))
    height = max(MIN_HEIGHT, min(DEFAULT_SIZE[1], room.height()))
    window.resize(width, height)
    if state.maximized:
        window.setWindowState(window.windowState() | Qt.WindowState.WindowMaximized)
        return False
    return True


def first_run_room(window: QMainWindow) -> QSize:
    """What a first-run window may take: the screen's free area less a twentieth (for the
    window's frame, and so that it does not look maximised)."""
    screen = window.screen() or QGuiApplication.primaryScreen()
    room = screen.availableGeometry()
    return QSize(room.width() * 19 // 20, room.height() * 19 // 20)


def grown_to_show(window: QSize, view: QSize, picture: QSize, room: QSize) -> QSize:
    """The window size at which its `view` holds `picture` (logical pixels) at its own size, as
    a video player opens at its video's size: the view gains what the window gains (the caller
    keeps the other panes as they are). Never smaller than `window`, never beyond `room`."""
    width = window.width() + max(0, picture.width() - view.width())
    height = window.height() + max(0, picture.height() - view.height())
    return QSize(min(width, max(window.width(), room.width())),
                 min(height, max(window.height(), room.height())))


def open_to_show(window: QMainWindow, splitter: QSplitter, view: QWidget,
                 picture_px: QSize) -> None:
    """At a first run's first show: grow `window`, where the screen allows, until `view` holds a
    picture of `picture_px` device pixels one for one, the extra width all going to the view's
    side of `splitter`. For the web view that means copying each video frame instead of scaling
    it on the CPU (3-4 times the cost, bench_webview_scaling), and the sharpest picture."""
    ratio = window.devicePixelRatioF() or 1.0
    picture = QSize(math.ceil(picture_px.width() / ratio),
                    math.ceil(picture_px.height() / ratio))
    target = grown_to_show(window.size(), view.size(), picture, first_run_room(window))
    if target == window.size():
        return
    pane = splitter.sizes()[-1]
    window.resize(target)
    if (layout := window.layout()) is not None:
        layout.activate()  # the splitter takes the new width now...
    place_panes(splitter, pane)  # ...and all of it goes to the view's side


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

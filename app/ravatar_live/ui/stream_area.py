"""The stream area: the avatar's view (one of several stacked players) with the banner floating
over its top edge.

Views are stacked (`add_view` / `show_view`): today the web view, later a native player beside
it; the one shown fills the area and letter-boxes the stream itself. The area takes keyboard
focus (the views do not): it is where the push-to-talk key works without a control in the way,
and it shows the focus ring like any control.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Slot
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QFrame, QStackedLayout, QWidget

from ravatar_live.ui.banner import Banner

BANNER_MAX_WIDTH = 620
BANNER_MARGIN = 16


class StreamArea(QFrame):
    def __init__(self, view: QWidget, banner: Banner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("StreamFrame")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAccessibleName("Avatar stream")
        self.set_push_to_talk_key("Space")
        self.view = view
        self.banner = banner
        self._stack = QStackedLayout(self)
        self._stack.setContentsMargins(2, 2, 2, 2)  # inside the focus ring
        self.add_view(view)
        banner.setParent(self)
        banner.installEventFilter(self)
        banner.shown_message.connect(self._place_banner)

    def set_push_to_talk_key(self, key: str) -> None:
        self.setAccessibleDescription(
            f"The avatar's video. Hold {key} here to talk; Tab moves to the controls.")

    # --- the views ---------------------------------------------------------------------------
    def add_view(self, view: QWidget) -> None:
        """Stack another player's view (hidden until `show_view`)."""
        view.setParent(self)
        view.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # focus stays on the area (push-to-talk)
        self._stack.addWidget(view)
        self.banner_to_front()

    def show_view(self, view: QWidget) -> None:
        self._stack.setCurrentWidget(view)
        self.banner_to_front()

    @property
    def current_view(self) -> QWidget | None:
        return self._stack.currentWidget()

    def banner_to_front(self) -> None:
        self.banner.raise_()

    # --- the banner --------------------------------------------------------------------------
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if watched is self.banner and event.type() in (QEvent.Type.Show,
                                                        QEvent.Type.LayoutRequest):
            self._place_banner()
            # A new message's buttons are polished (and grow) only after this event, and the
            # banner's height follows them: measure again once they have.
            QTimer.singleShot(0, self, self._place_banner)
        return False

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._place_banner()

    @Slot()
    def _place_banner(self) -> None:
        width = max(0, min(BANNER_MAX_WIDTH, self.width() - 2 * BANNER_MARGIN))
        height = self.banner.heightForWidth(width)
        if height <= 0:
            height = self.banner.sizeHint().height()
        self.banner.setGeometry((self.width() - width) // 2, BANNER_MARGIN, width, height)
        self.banner.raise_()

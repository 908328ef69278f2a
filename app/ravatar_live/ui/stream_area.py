"""The stream view with the banner floating over its top edge."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QTimer, Slot
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QFrame, QVBoxLayout, QWidget

from ravatar_live.ui.banner import Banner
from ravatar_live.ui.stream_view import StreamView


class StreamArea(QFrame):
    """The stream view with the banner floating over its top edge."""

    def __init__(self, view: StreamView, banner: Banner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("StreamFrame")
        self.view = view
        self.banner = banner
        view.setParent(self)
        banner.setParent(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(view)
        banner.installEventFilter(self)

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
        width = min(620, self.width() - 32)
        height = self.banner.heightForWidth(width)
        if height <= 0:
            height = self.banner.sizeHint().height()
        self.banner.setGeometry((self.width() - width) // 2, 16, width, height)
        self.banner.raise_()

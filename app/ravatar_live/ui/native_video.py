"""`NativeVideoView`: shows the native player's frames (a `QVideoSink`), letter-boxed.

A plain widget that paints each frame itself, not a `QVideoWidget`: measured here, a
QVideoWidget shows nothing in `grab()` under the offscreen platform (it renders through its own
RHI surface, which needs GL), while this view renders the same on offscreen, Xvfb and a real
desktop without a GPU, and `grab()` shows the picture. The player's thread converts each frame
to RGB at the size it is shown (stream.video_frames): the view reports that size
(`display_area_changed`, device pixels) and paints such a frame 1:1, a plain copy. The view
repaints only when a new frame arrives or its size changes; a frame made for the old size is
scaled until the next one comes.

The picture keeps the stream's aspect ratio (never stretched), centred on black bars; with no
frame a calm placeholder says what will appear. The view takes no focus (nothing to type).
"""

from __future__ import annotations

from PySide6.QtCore import QRect, QRectF, QSize, Qt, Signal, Slot
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QRegion, QResizeEvent
from PySide6.QtMultimedia import QVideoFrame, QVideoSink
from PySide6.QtWidgets import QSizePolicy, QWidget

BACKGROUND = QColor(0, 0, 0)
PLACEHOLDER_TEXT = QColor(139, 147, 167)
PLACEHOLDER = "The avatar's video appears here."


def letterbox(area: QSize, picture: QSize) -> QRect:
    """The largest rectangle of `picture`'s aspect ratio centred in `area`."""
    if picture.isEmpty() or area.isEmpty():
        return QRect()
    scale = min(area.width() / picture.width(), area.height() / picture.height())
    width = max(1, round(picture.width() * scale))
    height = max(1, round(picture.height() * scale))
    return QRect((area.width() - width) // 2, (area.height() - height) // 2, width, height)


def shown_rect(area: QSize, picture: QSize, pixel_ratio: float = 1.0) -> QRect:
    """Where a picture of `picture` device pixels goes in `area` (logical pixels): its own size,
    centred, when it was made for this area (it fits, and the letter-box is at most 2 px
    larger), so that painting it is a copy; else letter-boxed."""
    fitted = letterbox(area, picture)
    own = QSize(round(picture.width() / pixel_ratio), round(picture.height() / pixel_ratio))
    if (0 <= fitted.width() - own.width() <= 2 and 0 <= fitted.height() - own.height() <= 2):
        return QRect((area.width() - own.width()) // 2, (area.height() - own.height()) // 2,
                     own.width(), own.height())
    return fitted


class NativeVideoView(QWidget):
    #: The view's size in device pixels, whenever it changes.
    display_area_changed = Signal(int, int)

    def __init__(self, sink: QVideoSink | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("NativeVideoView")
        self.setAccessibleName("Avatar video")
        self.setAccessibleDescription("The avatar's live video stream.")
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(160, 90)
        self._sink: QVideoSink | None = None
        self._frame: QVideoFrame | None = None
        self._painted = True  # the current frame has been painted at least once
        self.frames_shown = 0
        if sink is not None:
            self.set_sink(sink)

    def set_sink(self, sink: QVideoSink | None) -> None:
        """Show the frames of `sink` (None: none; the placeholder comes back)."""
        if self._sink is not None:
            self._sink.videoFrameChanged.disconnect(self.show_frame)
        self._sink = sink
        if sink is not None:
            sink.videoFrameChanged.connect(self.show_frame)
        self.show_frame(sink.videoFrame() if sink is not None else QVideoFrame())

    @property
    def has_frame(self) -> bool:
        return self._frame is not None

    @property
    def frame_size(self) -> QSize:
        """The stream's picture size (empty before the first frame)."""
        return self._frame.size() if self._frame is not None else QSize()

    def picture_rect(self) -> QRect:
        """Where the picture is drawn in this widget (empty with no frame)."""
        return shown_rect(self.size(), self.frame_size, self.devicePixelRatioF())

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        ratio = self.devicePixelRatioF()
        self.display_area_changed.emit(round(self.width() * ratio), round(self.height() * ratio))

    @Slot(QVideoFrame)
    def show_frame(self, frame: QVideoFrame) -> None:
        """A new frame (an invalid frame clears the view)."""
        self._frame = frame if frame.isValid() else None
        self._painted = False
        self.update()

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt's name)
        return QSize(640, 360)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt's name)
        painter = QPainter(self)
        try:
            frame = self._frame
            if frame is None:
                painter.fillRect(self.rect(), BACKGROUND)
                painter.setPen(PLACEHOLDER_TEXT)
                painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, PLACEHOLDER)
                return
            target = self.picture_rect()
            # Only the bars: the picture covers the rest (filling it too cost a full-size fill
            # per frame).
            painter.setClipRegion(QRegion(self.rect()) - QRegion(target))
            painter.fillRect(self.rect(), BACKGROUND)
            painter.setClipping(False)
            if not target.isEmpty():
                if target.size() != frame.size() / self.devicePixelRatioF():
                    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
                frame.paint(painter, QRectF(target), QVideoFrame.PaintOptions())
            if not self._painted:
                self._painted = True
                self.frames_shown += 1
        finally:
            painter.end()

"""NativeVideoView on a real QVideoSink (offscreen): the picture is letter-boxed at the stream's
aspect ratio, never stretched, grab() shows it, a placeholder shows when there is no frame, it
is described for assistive technology and takes no focus, and it paints new frames only."""

from __future__ import annotations

from typing import Any

import av
import numpy as np
import pytest
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QColor
from PySide6.QtMultimedia import QVideoFrame, QVideoSink

from ravatar_live.stream.video_frames import FrameConverter
from ravatar_live.ui.native_video import NativeVideoView, letterbox
from tests.support.streamer import ORANGE, TEAL


def pattern(width: int, height: int) -> QVideoFrame:
    rgb = np.zeros((height, width, 3), np.uint8)
    rgb[:, : width // 2] = TEAL
    rgb[:, width // 2:] = ORANGE
    return FrameConverter().convert(av.VideoFrame.from_ndarray(rgb, format="rgb24"))


def near(colour: QColor, want: tuple[int, int, int], tolerance: int = 24) -> bool:
    return all(abs(a - b) <= tolerance
               for a, b in zip((colour.red(), colour.green(), colour.blue()), want, strict=True))


@pytest.fixture
def view(qtbot: Any) -> tuple[NativeVideoView, QVideoSink]:
    sink = QVideoSink()
    widget = NativeVideoView(sink)
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    return widget, sink


@pytest.mark.parametrize(("size", "picture"), [
    ((640, 480), (0, 60, 640, 360)),  # taller than 16:9: bars above and below
    ((800, 300), (133, 0, 533, 300)),  # wider: bars left and right
    ((1280, 720), (0, 0, 1280, 720)),  # exact
])
def test_the_picture_is_letterboxed_never_stretched(view: Any, size: tuple[int, int],
                                                    picture: tuple[int, int, int, int]) -> None:
    widget, sink = view
    widget.resize(*size)
    sink.setVideoFrame(pattern(1280, 720))
    assert widget.picture_rect().getRect() == picture
    x, y, w, h = picture
    image = widget.grab().toImage()
    assert near(image.pixelColor(x + w // 8, y + h // 2), TEAL)
    assert near(image.pixelColor(x + w * 7 // 8, y + h // 2), ORANGE)
    # Outside the picture: black bars (where there are any).
    if y > 0:
        assert image.pixelColor(size[0] // 2, y // 2) == QColor(0, 0, 0)
    if x > 0:
        assert image.pixelColor(x // 2, size[1] // 2) == QColor(0, 0, 0)


def test_placeholder_without_frames_and_after_an_empty_frame(view: Any) -> None:
    widget, sink = view
    widget.resize(640, 360)
    assert not widget.has_frame
    blank = widget.grab().toImage()
    colours = {blank.pixel(x, y) for x in range(0, 640, 8) for y in range(0, 360, 8)}
    assert len(colours) > 1  # the placeholder's words are drawn ...
    assert not any(near(QColor(c), TEAL) or near(QColor(c), ORANGE) for c in colours)
    sink.setVideoFrame(pattern(320, 180))
    assert widget.has_frame and widget.frame_size == QSize(320, 180)
    sink.setVideoFrame(QVideoFrame())  # the stream stopped
    assert not widget.has_frame
    assert widget.picture_rect().isEmpty()


def test_accessible_and_takes_no_focus(view: Any) -> None:
    widget, _sink = view
    assert widget.accessibleName() == "Avatar video"
    assert widget.accessibleDescription()
    assert widget.focusPolicy() == Qt.FocusPolicy.NoFocus


def test_new_frames_repaint_and_nothing_else_does(view: Any, qtbot: Any) -> None:
    widget, sink = view
    for count in (1, 2, 3):
        sink.setVideoFrame(pattern(640, 360))
        qtbot.waitUntil(lambda want=count: widget.frames_shown == want)  # painted by itself
    for width in (500, 700, 900):  # resizes repaint the same frame: it is not shown anew
        widget.resize(width, 400)
        widget.grab()
    assert widget.frames_shown == 3
    # Frames that arrive faster than painting are painted once, the newest.
    for frame in (pattern(640, 360), pattern(640, 360)):
        sink.setVideoFrame(frame)
    widget.grab()
    assert widget.frames_shown == 4


def test_the_view_reports_its_size_and_paints_frames_made_for_it_one_to_one(
        view: Any, qtbot: Any) -> None:
    widget, sink = view
    with qtbot.waitSignal(widget.display_area_changed) as reported:
        widget.resize(641, 480)
    assert reported.args == [641, 480]  # device pixels (ratio 1 offscreen)
    # A frame made for this area (1280x720 fitted: 641x361) is drawn at its own size, centred,
    # not rescaled by a pixel; bars above and below stay black.
    sink.setVideoFrame(pattern(641, 361))
    assert widget.picture_rect().getRect() == (0, 59, 641, 361)
    image = widget.grab().toImage()
    assert near(image.pixelColor(80, 240), TEAL) and near(image.pixelColor(560, 240), ORANGE)
    assert image.pixelColor(320, 20) == QColor(0, 0, 0)
    assert image.pixelColor(320, 470) == QColor(0, 0, 0)
    # A frame made for another size (the stream's own, before the player heard of the area)
    # is letter-boxed to fit.
    sink.setVideoFrame(pattern(1280, 720))
    assert widget.frame_size == QSize(1280, 720)
    assert widget.picture_rect().getRect() == (0, 59, 641, 361)
    assert near(widget.grab().toImage().pixelColor(80, 240), TEAL)


def test_letterbox_edge_cases() -> None:
    assert letterbox(QSize(100, 100), QSize()).isEmpty()
    assert letterbox(QSize(0, 100), QSize(16, 9)).isEmpty()
    assert letterbox(QSize(1, 1000), QSize(1920, 1080)).getRect() == (0, 499, 1, 1)


def test_switching_sinks(view: Any) -> None:
    widget, sink = view
    sink.setVideoFrame(pattern(640, 360))
    other = QVideoSink()
    widget.set_sink(other)
    assert not widget.has_frame  # the new sink has shown nothing yet
    sink.setVideoFrame(pattern(640, 360))
    assert not widget.has_frame  # the old sink is no longer watched
    other.setVideoFrame(pattern(320, 240))
    assert widget.frame_size == QSize(320, 240)
    widget.set_sink(None)
    assert not widget.has_frame

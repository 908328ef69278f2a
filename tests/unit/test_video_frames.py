"""PyAV frames to QVideoFrame: RGB pixels come out exactly, whatever the line strides; YUV
frames keep their colours and their range; a frame is made at the size it is shown (fitted to
the display area, never larger than the stream), and follows the area as it changes."""

from __future__ import annotations

import av
import numpy as np
import pytest
from PySide6.QtMultimedia import QVideoFrame, QVideoFrameFormat

from ravatar_live.stream.video_frames import DisplayArea, FrameConverter, shown_size


def read_bgrx(video: QVideoFrame) -> np.ndarray:
    """The picture as rows x columns x (B, G, R)."""
    assert video.map(QVideoFrame.MapMode.ReadOnly)
    try:
        stride = video.bytesPerLine(0)
        data = np.frombuffer(video.bits(0), np.uint8)
        rows = data[:video.height() * stride].reshape(video.height(), stride)
        pixels = rows[:, :video.width() * 4].reshape(video.height(), video.width(), 4)
        return pixels[:, :, :3].copy()
    finally:
        video.unmap()


@pytest.mark.parametrize(("width", "height"), [(1280, 720), (33, 17), (2, 2), (1918, 1078)])
def test_rgb_pixels_arrive_exactly(width: int, height: int) -> None:
    # Every pixel depends on its row and column, so a stride or channel mistake shows.
    rows, cols = np.mgrid[0:height, 0:width]
    rgb = np.stack([(rows * 7 + cols * 3) % 251, (rows * 5 + cols) % 241, (cols * 11) % 239],
                   axis=-1).astype(np.uint8)
    video = FrameConverter().convert(av.VideoFrame.from_ndarray(rgb, format="rgb24"))
    assert video.isValid()
    assert video.pixelFormat() == QVideoFrameFormat.PixelFormat.Format_BGRX8888
    assert (video.width(), video.height()) == (width, height)
    np.testing.assert_array_equal(read_bgrx(video)[:, :, ::-1], rgb)


def yuv_frame(y: int, u: int, v: int, fmt: str) -> av.VideoFrame:
    frame = av.VideoFrame(64, 32, fmt)
    for plane, value in zip(frame.planes, (y, u, v), strict=True):
        np.frombuffer(plane, np.uint8)[:] = value
    return frame


def test_yuv_colours_and_ranges_survive(qapp) -> None:
    # Y=235 is white in limited (video) range but light grey in full range: a converter that
    # ignored the range would show the two the same.
    limited = read_bgrx(FrameConverter().convert(yuv_frame(235, 128, 128, "yuv420p")))
    full = read_bgrx(FrameConverter().convert(yuv_frame(235, 128, 128, "yuvj420p")))
    assert np.all(limited >= 250), limited[0, 0]
    assert np.all(np.abs(full.astype(int) - 235) <= 2), full[0, 0]
    # The avatar's teal through YUV and back, as Qt paints it.
    teal = (30, 160, 170)
    rgb = np.zeros((32, 64, 3), np.uint8)
    rgb[:] = teal
    yuv = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
    image = FrameConverter().convert(yuv).toImage()
    colour = image.pixelColor(32, 16)
    assert max(abs(a - b) for a, b in
               zip((colour.red(), colour.green(), colour.blue()), teal, strict=True)) <= 8


@pytest.mark.parametrize(("area", "expected"), [
    (None, (1280, 720)),          # the view has not said its size: the stream's own
    ((640, 480), (640, 360)),     # a smaller, taller area: fitted by width
    ((800, 300), (532, 300)),     # a wider one: fitted by height (533 wide, made even)
    ((961, 600), (960, 541)),     # an even width: libswscale's fast path
    ((1920, 1200), (1280, 720)),  # larger: never scaled up here
    ((1280, 720), (1280, 720)),
])
def test_frames_are_made_at_the_size_they_are_shown(area: tuple[int, int] | None,
                                                    expected: tuple[int, int]) -> None:
    assert shown_size((1280, 720), area) == expected
    display = DisplayArea()
    if area is not None:
        display.set(*area)
    converter = FrameConverter(display)
    video = converter.convert(av.VideoFrame(1280, 720, "yuv420p"))
    assert (video.width(), video.height()) == expected


def test_the_size_follows_the_area_between_frames() -> None:
    display = DisplayArea()
    converter = FrameConverter(display)
    frame = av.VideoFrame(1280, 720, "yuv420p")
    display.set(640, 360)
    assert converter.convert(frame).size().toTuple() == (640, 360)
    display.set(960, 540)
    assert converter.convert(frame).size().toTuple() == (960, 540)
    display.set(0, 0)  # a hidden view: the stream's own size again
    assert converter.convert(frame).size().toTuple() == (1280, 720)

"""PyAV frames to QVideoFrame: a known YUV pattern comes out exactly in the QVideoFrame's planes,
whatever the line strides, and the picture Qt renders from it has the right colours."""

from __future__ import annotations

import av
import numpy as np
import pytest
from PySide6.QtMultimedia import QVideoFrame, QVideoFrameFormat

from ravatar_live.stream.video_frames import to_qvideo_frame


def patterned_frame(width: int, height: int, fmt: str = "yuv420p") -> tuple[av.VideoFrame,
                                                                            list[np.ndarray]]:
    """A frame whose every plane byte depends on its row and column (so a stride mistake, a
    swapped plane or a short copy shows), and the expected visible planes."""
    frame = av.VideoFrame(width, height, fmt)
    expected = []
    for index, plane in enumerate(frame.planes):
        rows, cols = plane.height, plane.width
        values = ((np.arange(rows)[:, None] * 7 + np.arange(cols)[None, :] * 3 + index * 50)
                  % 251).astype(np.uint8)
        buffer = np.frombuffer(plane, np.uint8).reshape(rows, plane.line_size)
        buffer[:, :cols] = values
        buffer[:, cols:] = 255  # padding must never leak into the picture
        expected.append(values)
    return frame, expected


def read_planes(video: QVideoFrame) -> list[np.ndarray]:
    assert video.map(QVideoFrame.MapMode.ReadOnly)
    try:
        planes = []
        width, height = video.width(), video.height()
        sizes = [(height, width), ((height + 1) // 2, (width + 1) // 2),
                 ((height + 1) // 2, (width + 1) // 2)]
        for index, (want_rows, cols) in enumerate(sizes):
            stride = video.bytesPerLine(index)
            data = np.frombuffer(video.bits(index), np.uint8)
            # Qt gives an odd-height frame height // 2 chroma rows (PyAV: rounded up).
            rows = min(want_rows, data.size // stride)
            planes.append(data[:rows * stride].reshape(rows, stride)[:, :cols].copy())
        return planes
    finally:
        video.unmap()


@pytest.mark.parametrize(("width", "height"), [(1280, 720), (640, 360), (33, 17), (2, 2),
                                               (1918, 1078)])
def test_planes_are_copied_exactly(width: int, height: int) -> None:
    frame, expected = patterned_frame(width, height)
    video = to_qvideo_frame(frame)
    assert video.isValid()
    assert video.pixelFormat() == QVideoFrameFormat.PixelFormat.Format_YUV420P
    assert (video.width(), video.height()) == (width, height)
    for got, want in zip(read_planes(video), expected, strict=True):
        assert got.shape[0] >= want.shape[0] - 1
        np.testing.assert_array_equal(got, want[:got.shape[0]])


def test_full_range_frames_keep_their_range() -> None:
    frame, expected = patterned_frame(64, 32, "yuvj420p")
    video = to_qvideo_frame(frame)
    assert video.surfaceFormat().colorRange() == QVideoFrameFormat.ColorRange.ColorRange_Full
    for got, want in zip(read_planes(video), expected, strict=True):
        np.testing.assert_array_equal(got, want)
    limited = to_qvideo_frame(patterned_frame(64, 32)[0])
    assert limited.surfaceFormat().colorRange() == QVideoFrameFormat.ColorRange.ColorRange_Video


def test_other_pixel_formats_are_converted_and_the_colours_survive(qapp) -> None:
    # Left half the avatar's teal, right half orange, as RGB; through YUV and back via Qt.
    rgb = np.zeros((64, 128, 3), np.uint8)
    rgb[:, :64] = (30, 160, 170)
    rgb[:, 64:] = (240, 130, 40)
    video = to_qvideo_frame(av.VideoFrame.from_ndarray(rgb, format="rgb24"))
    assert video.pixelFormat() == QVideoFrameFormat.PixelFormat.Format_YUV420P
    image = video.toImage()
    for x, want in ((16, (30, 160, 170)), (100, (240, 130, 40))):
        colour = image.pixelColor(x, 32)
        assert abs(colour.red() - want[0]) <= 12, (x, colour.getRgb())
        assert abs(colour.green() - want[1]) <= 12, (x, colour.getRgb())
        assert abs(colour.blue() - want[2]) <= 12, (x, colour.getRgb())

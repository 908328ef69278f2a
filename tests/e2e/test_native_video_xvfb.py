"""NativeVideoView on a real X server without a GPU (Xvfb, Qt's xcb platform): the picture is
painted, letter-boxed, and `grab()` shows it (what the offscreen GUI tests check, here on the
platform a Linux desktop uses)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.e2e

CHILD = textwrap.dedent("""
    import json
    import av, numpy as np
    from PySide6.QtMultimedia import QVideoSink
    from PySide6.QtWidgets import QApplication
    from ravatar_live.stream.video_frames import FrameConverter
    from ravatar_live.ui.native_video import NativeVideoView
    from tests.support.streamer import ORANGE, TEAL

    app = QApplication([])
    rgb = np.zeros((720, 1280, 3), np.uint8)
    rgb[:, :640] = TEAL
    rgb[:, 640:] = ORANGE
    sink = QVideoSink()
    view = NativeVideoView(sink)
    view.resize(640, 480)
    view.show()
    sink.setVideoFrame(FrameConverter().convert(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
    while view.frames_shown == 0:
        app.processEvents()
    image = view.grab().toImage()
    print(json.dumps({"platform": app.platformName(),
                      "left": image.pixelColor(80, 240).getRgb()[:3],
                      "right": image.pixelColor(560, 240).getRgb()[:3],
                      "bar": image.pixelColor(320, 20).getRgb()[:3]}))
""")


def test_the_view_paints_under_xvfb() -> None:
    xvfb_run = shutil.which("xvfb-run")
    assert xvfb_run, "xvfb-run is required (Debian: apt-get install xvfb)"
    env = {**os.environ, "QT_QPA_PLATFORM": "xcb"}
    result = subprocess.run([xvfb_run, "-a", sys.executable, "-c", CHILD], env=env,
                            capture_output=True, text=True, timeout=120, check=False)
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    assert lines, f"the child failed: {result.stderr[-1500:]}"
    seen = json.loads(lines[-1])
    assert seen["platform"] == "xcb"

    def near(got: list[int], want: tuple[int, int, int]) -> bool:
        return all(abs(a - b) <= 24 for a, b in zip(got, want, strict=True))

    assert near(seen["left"], (30, 160, 170)), seen
    assert near(seen["right"], (240, 130, 40)), seen
    assert near(seen["bar"], (0, 0, 0)), seen

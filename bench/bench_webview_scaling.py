"""What a QtWebEngine view costs to show the stream, by how much it must scale the video.

A bare `QWebEngineView` (no app around it, drawn in software as the app draws without a GPU)
shows a simulator stream page of 1280x720 VP8 at 15 fps, sized so that the video is shown 1:1,
a few pixels smaller, downscaled and upscaled; a Chromium window on the same stream is the
reference. CPU is % of one core for the whole process tree over the window, on Xvfb (xcb), like
bench_vs_browser. It shows where the web view's cost comes from: QtWebEngine's software
compositor copies a 1:1 video frame but scales a video frame on the CPU at several times the
cost, in its own thread, whatever the app around it does.

  PYTHONPATH=app:. .venv/bin/python bench/bench_webview_scaling.py [--window 15] [--rounds 1]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.bench_vs_browser import (
    Bench,
    frames_sent,
    measure_tree,
    run_chromium,
    stream_license,
    wait_until,
)

from ravatar_live.simulator.server import SimulatorConfig
from ravatar_live.simulator.threaded import SimulatorThread
from tests.support.virtual_audio import start_virtual_audio
from tests.support.x11 import Xvfb

#: View sizes: the video (1280x720) letter-boxed into each, so shown at that size.
SIZES = ((1280, 720), (1276, 716), (960, 540), (640, 360), (1600, 900))


def child(url: str, width: int, height: int) -> None:
    """The bare view, drawn as the app draws without a GPU (rendering.py)."""
    from PySide6.QtCore import QCoreApplication, Qt, QUrl

    QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ForceRasterWidgets)
    os.environ.setdefault("QT_QUICK_BACKEND", "software")
    from PySide6.QtWebEngineCore import QWebEngineSettings
    from PySide6.QtWebEngineWidgets import QWebEngineView
    from PySide6.QtWidgets import QApplication

    app = QApplication([])
    view = QWebEngineView()
    view.settings().setAttribute(QWebEngineSettings.WebAttribute.PlaybackRequiresUserGesture,
                                 False)
    view.resize(width, height)
    view.load(QUrl(url))
    view.show()
    app.exec()


def run_view(bench: Bench, sim: SimulatorThread, width: int, height: int) -> float:
    with stream_license(sim) as url:
        env = {**os.environ, **bench.audio.env, "DISPLAY": bench.xvfb.display,
               "QT_QPA_PLATFORM": "xcb", "QTWEBENGINE_CHROMIUM_FLAGS": "--disable-gpu"}
        if os.geteuid() == 0:
            env["QTWEBENGINE_DISABLE_SANDBOX"] = "1"
        before = frames_sent(sim)
        proc = subprocess.Popen([sys.executable, __file__, "--child", url, str(width),
                                 str(height)], env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        try:
            wait_until(lambda: frames_sent(sim) > before, 60, "the view's first frame")
            return measure_tree(proc.pid, bench, sim).cpu
        finally:
            proc.terminate()
            proc.wait(timeout=20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--window", type=float, default=15.0, help="seconds measured")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--child", nargs=3, metavar=("URL", "WIDTH", "HEIGHT"))
    options = parser.parse_args()
    if options.child:
        url, width, height = options.child
        child(url, int(width), int(height))
        return
    home = Path(tempfile.mkdtemp(prefix="bench-webview-"))
    audio = start_virtual_audio()
    xvfb = Xvfb("1920x1080x24")
    bench = Bench(options.window, 5.0, audio, xvfb, home, {})
    figures: dict[str, list[float]] = {}
    config = SimulatorConfig(port=0, max_licenses=50, transcribe=False, stream_video_codec="VP8")
    try:
        with SimulatorThread(config) as sim:
            for _ in range(options.rounds):
                figures.setdefault("Chromium window 1280x720", []).append(
                    run_chromium(bench, sim, "windowed", "scaling").cpu)
                for width, height in SIZES:
                    figures.setdefault(f"QWebEngineView {width}x{height}", []).append(
                        run_view(bench, sim, width, height))
    finally:
        xvfb.stop()
        audio.stop()
        shutil.rmtree(home, ignore_errors=True)
    print(f"1280x720 VP8 stream, CPU % of one core (process tree), median of {options.rounds}")
    for name, values in figures.items():
        print(f"  {name:30s} {statistics.median(values):5.1f} %")


if __name__ == "__main__":
    main()

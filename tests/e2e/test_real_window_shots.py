"""Real screenshots of the real app under Xvfb (the xcb platform, as on a desktop) at 800 x 600
and at full HD, live on the simulator; kept in artifacts/ as xvfb-<size>.png.

Xvfb has no window manager, so nothing maximises a window: the full-HD window is given its size
as a saved geometry, made by Qt itself on the same display. The 800 x 600 screen shows what a
first start on a small screen looks like.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from ravatar_live.simulator.server import SimulatorConfig
from ravatar_live.simulator.threaded import SimulatorThread
from tests.e2e.test_app_e2e import ARTIFACTS, app_args, region_stats
from tests.support.app_process import AppProcess
from tests.support.x11 import Xvfb, saved_geometry

pytestmark = pytest.mark.e2e

def window_size(display: str) -> tuple[int, int]:
    tree = subprocess.run(["xwininfo", "-display", display, "-root", "-tree"],
                          capture_output=True, text=True, timeout=30, check=True).stdout
    # The top-level window is the one with a WM_CLASS: '0x… "RAVATAR Live": ("…" "…") 800x600+0+0'
    line = next(line for line in tree.splitlines() if '"RAVATAR Live' in line and '("' in line)
    width, height = line.split(")")[-1].split()[0].split("+")[0].split("x")
    return int(width), int(height)


@pytest.mark.parametrize(("width", "height"), [(800, 600), (1920, 1080)])
def test_real_screenshot(width, height, tmp_path) -> None:
    xvfb = Xvfb(f"{width}x{height}x24")
    settings = tmp_path / "settings.ini"
    lines = ["[General]", "settings_version=2", "user_id=0123456789abcdef01234567"]
    if width > 800:
        lines.append(f"window_geometry={saved_geometry(xvfb.display, width, height)}")
    settings.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with SimulatorThread(SimulatorConfig(port=0, transcribe=False, stream_voice=False)) as sim:
        app = AppProcess([*app_args(sim, "--start", "--settings", str(settings))],
                         home=tmp_path, env={"QT_QPA_PLATFORM": "xcb", "DISPLAY": xvfb.display})
        try:
            app.wait_for(r"startup complete")
            app.wait_for(r"stream event: ravatar-session-start")
            shown = window_size(xvfb.display)
            # Qt fits a restored window inside the screen, allowing for a frame: nearly full.
            assert width - 30 <= shown[0] <= width and height - 30 <= shown[1] <= height, shown
            shot = ARTIFACTS / f"xvfb-{width}x{height}.png"
            # The window repaints on its own schedule: settled when two shots agree.
            previous = None
            for _attempt in range(40):
                xvfb.screenshot(shot)
                stats = region_stats(shot, f"{width // 2}x{height // 2}+20+80")
                if stats == previous and stats[1] > 0.03:
                    break
                previous = stats
                time.sleep(0.25)
            assert stats[1] > 0.03, f"the stream area looks blank (std {stats[1]:.3f})"
            app.terminate()
            assert app.wait_exit(30) == 0
            assert sim.call(lambda s: s.stats())["live"] == 0
        finally:
            app.kill()
            xvfb.stop()
    assert Path(shot).stat().st_size > 10_000

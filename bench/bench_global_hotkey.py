"""Push-to-talk from any window: how long a key press takes to reach the GUI thread.

On a virtual X server (Xvfb), the real `GlobalPushToTalk` (pynput over RECORD, its hook thread,
the queued signal) watches F9; the key is pressed and released `--presses` times through XTEST
(as a keyboard does), each after the previous one arrived. Printed: P50 / P95 / max from the
XTEST request being flushed to `pressed` / `released` running on the GUI thread, and the
process's CPU while idle with the hook on and with it off.

    PYTHONPATH=. .venv/bin/python bench/bench_global_hotkey.py
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from PySide6.QtCore import QCoreApplication, QEventLoop, QTimer

from tests.support.x11 import Xvfb


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def wait_for(signal: object, timeout_ms: int = 5000) -> bool:
    loop = QEventLoop()
    fired: list[bool] = []

    def done() -> None:
        fired.append(True)
        loop.quit()

    signal.connect(done)  # type: ignore[attr-defined]
    QTimer.singleShot(timeout_ms, loop.quit)
    loop.exec()
    signal.disconnect(done)  # type: ignore[attr-defined]
    return bool(fired)


def idle_cpu(seconds: float) -> float:
    """Percent of one core this process used over `seconds` of an idle Qt loop."""
    loop = QEventLoop()
    QTimer.singleShot(round(seconds * 1000), loop.quit)
    cpu, wall = time.process_time(), time.perf_counter()
    loop.exec()
    return 100 * (time.process_time() - cpu) / (time.perf_counter() - wall)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presses", type=int, default=50)
    args = parser.parse_args()
    xvfb = Xvfb("640x480x24")
    os.environ["DISPLAY"] = xvfb.display
    app = QCoreApplication([])
    from Xlib import XK, X
    from Xlib import display as xdisplay
    from Xlib.ext import xtest

    from ravatar_live.hotkeys.service import GlobalPushToTalk, HotkeyState

    hotkey = GlobalPushToTalk()
    try:
        off_cpu = idle_cpu(3.0)
        hotkey.set_key("F9")
        assert wait_for(hotkey.state_changed) and hotkey.state is not HotkeyState.STARTING
        assert hotkey.state is HotkeyState.ON, hotkey.explanation
        on_cpu = idle_cpu(3.0)
        conn = xdisplay.Display(xvfb.display)
        keycode = conn.keysym_to_keycode(XK.string_to_keysym("F9"))
        press_ms: list[float] = []
        release_ms: list[float] = []
        for _ in range(args.presses):
            for kind, signal, out in ((X.KeyPress, hotkey.pressed, press_ms),
                                      (X.KeyRelease, hotkey.released, release_ms)):
                started = time.perf_counter()
                xtest.fake_input(conn, kind, keycode)
                conn.sync()
                assert wait_for(signal), "the key did not arrive"
                out.append((time.perf_counter() - started) * 1000)
        conn.close()
    finally:
        hotkey.close()
        xvfb.stop()
    print(f"global push-to-talk key, {args.presses} presses (X11 RECORD through pynput)")
    for name, values in (("press -> pressed", press_ms), ("release -> released", release_ms)):
        print(f"  {name:22} P50 {statistics.median(values):6.2f} ms   P95 "
              f"{percentile(values, 95):6.2f} ms   max {max(values):6.2f} ms")
    print(f"  idle CPU: hook off {off_cpu:.1f} % of a core, hook on {on_cpu:.1f} %")
    del app


if __name__ == "__main__":
    main()

"""A virtual X display for tests and benches (Xvfb), a window of "another app" that takes the
keyboard focus, xdotool to press keys on that display the way a keyboard does (XTEST), and a saved
window geometry that opens the app at a given size there."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

GEOMETRY_OF = ("import base64, sys\n"
               "from PySide6.QtWidgets import QApplication, QWidget\n"
               "app = QApplication([])\n"
               "w = QWidget()\n"
               "w.setGeometry(0, 0, int(sys.argv[1]), int(sys.argv[2]))\n"
               "print(base64.b64encode(bytes(w.saveGeometry().data())).decode())\n")


class Xvfb:
    """A virtual X display; Xvfb picks a free display number and tells us (-displayfd)."""

    def __init__(self, size: str = "1600x1000x24") -> None:
        exe = shutil.which("Xvfb")
        assert exe, "Xvfb is required for the screenshot test (Debian: apt-get install xvfb)"
        read_fd, write_fd = os.pipe()
        self.proc = subprocess.Popen(
            # -noreset: the server keeps running when its last client leaves (a hook may be it).
            [exe, "-displayfd", str(write_fd), "-screen", "0", size, "-nolisten", "tcp",
             "-noreset"],
            pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(write_fd)
        with os.fdopen(read_fd) as pipe:
            number = pipe.readline().strip()  # written once the server accepts clients
        assert number, "Xvfb did not start"
        self.display = f":{number}"

    def screenshot(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["import", "-display", self.display, "-window", "root", str(path)],
                       check=True, timeout=30)
        return path

    def xdotool(self, *args: str) -> str:
        """Run xdotool on this display (e.g. "keydown", "F9"); its output."""
        exe = shutil.which("xdotool")
        assert exe, "xdotool is required (Debian: apt-get install xdotool)"
        done = subprocess.run([exe, *args], env={**os.environ, "DISPLAY": self.display},
                              capture_output=True, text=True, timeout=30, check=True)
        return done.stdout.strip()

    def focused_window(self) -> int:
        return int(self.xdotool("getwindowfocus"))

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class OtherAppWindow:
    """A plain X window of "another app" (python-xlib, its own connection) holding the keyboard
    focus, so that a key pressed now goes to it and not to the app under test."""

    def __init__(self, display: str) -> None:
        from Xlib import X
        from Xlib import display as xdisplay

        self._conn = xdisplay.Display(display)
        screen = self._conn.screen()
        self.window = screen.root.create_window(
            10, 10, 200, 120, 0, screen.root_depth, X.InputOutput, X.CopyFromParent,
            background_pixel=screen.white_pixel, event_mask=X.KeyPressMask | X.KeyReleaseMask)
        self.window.set_wm_name("another app")
        self.window.map()
        self.window.set_input_focus(X.RevertToParent, X.CurrentTime)
        self._conn.sync()

    @property
    def id(self) -> int:
        return int(self.window.id)

    def close(self) -> None:
        self.window.destroy()
        self._conn.close()


def saved_geometry(display: str, width: int, height: int) -> str:
    """A `window_geometry` settings value that opens the app's window at width x height
    (Xvfb has no window manager to maximise it)."""
    env = {**os.environ, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb"}
    done = subprocess.run([sys.executable, "-c", GEOMETRY_OF, str(width), str(height)], env=env,
                          capture_output=True, text=True, timeout=60, check=True)
    return done.stdout.strip().splitlines()[-1]

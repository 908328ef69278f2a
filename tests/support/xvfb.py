"""A private virtual X display (Xvfb) for the real app on Qt's xcb platform, as on a desktop."""

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
        assert exe, "Xvfb is required (Debian: apt-get install xvfb)"
        read_fd, write_fd = os.pipe()
        self.proc = subprocess.Popen(
            [exe, "-displayfd", str(write_fd), "-screen", "0", size, "-nolisten", "tcp"],
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

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def saved_geometry(display: str, width: int, height: int) -> str:
    """A `window_geometry` settings value that opens the app's window at width x height
    (Xvfb has no window manager to maximise it)."""
    env = {**os.environ, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb"}
    done = subprocess.run([sys.executable, "-c", GEOMETRY_OF, str(width), str(height)], env=env,
                          capture_output=True, text=True, timeout=60, check=True)
    return done.stdout.strip().splitlines()[-1]

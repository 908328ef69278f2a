"""ALSA's and JACK's probing chatter: kept off the terminal, without losing anyone else's lines.

Each case runs real PortAudio (the Debian library, here with no sound card, so ALSA and JACK
print their most) in a child process, because the message functions are per process.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "app"


def run_child(code: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=120, cwd=APP, check=True,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(home)})


def test_portaudio_initialised_without_the_router_does_chatter(tmp_path: Path) -> None:
    """The baseline: without the router this machine's PortAudio prints ALSA noise, so the next
    test's silence means something."""
    child = run_child("""
        import pyaudio
        pyaudio.PyAudio().terminate()
    """, tmp_path)
    assert "ALSA lib" in child.stderr


def test_chatter_goes_to_the_debug_log_and_lines_from_other_threads_all_arrive(
        tmp_path: Path) -> None:
    # The microphone worker initialises PortAudio again and again while the main thread writes
    # numbered lines to fd 2: every line must arrive (fd 2 redirection around PyAudio() lost
    # them, and with them the app's log lines), and no ALSA/JACK text may reach stderr.
    child = run_child("""
        import logging, os, threading
        from ravatar_live.audio.capture_pyaudio import PyAudioCapture
        records = []
        handler = logging.Handler()
        handler.emit = records.append
        logging.getLogger("ravatar_live.audio.native_chatter").addHandler(handler)
        logging.getLogger().setLevel(logging.DEBUG)
        capture = PyAudioCapture()
        done = threading.Event()
        def reinitialise():
            for _ in range(8):
                capture._ensure_pa(fresh=True)
            done.set()
        threading.Thread(target=reinitialise).start()
        n = 0
        while not done.is_set() or n < 200:
            os.write(2, f"line {n}\\n".encode())
            n += 1
        print(n, len(records))
    """, tmp_path)
    written, routed = (int(x) for x in child.stdout.split())
    lines = child.stderr.splitlines()
    assert lines == [f"line {i}" for i in range(written)], "a line written to stderr was lost"
    assert routed > 0, "the chatter did not reach the log"

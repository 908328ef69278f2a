"""PortAudio started and stopped from several threads at once (the microphone's worker and the
avatar's playback each start one) must not bring the process down.

Run in a child process on the PulseAudio virtual devices, because the failure is an abort:
without the shared lock in `audio.portaudio` this machine's PortAudio ends the process with
"InitializeHostApis: Assertion `defaultInputDevice < deviceCount' failed" (4 runs of 4 here; the
unguarded case is run and reported too, not asserted, since a race need not fire every time).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

APP = Path(__file__).resolve().parents[2] / "app"
CHILD = textwrap.dedent("""
    import sys, threading
    import pyaudio
    from ravatar_live.audio.portaudio import close_portaudio, open_portaudio
    from ravatar_live.audio.native_chatter import route_native_audio_chatter

    guarded = sys.argv[1] == "guarded"
    route_native_audio_chatter()

    def start_and_stop() -> None:
        for _ in range(15):
            pa = open_portaudio() if guarded else pyaudio.PyAudio()
            pa.get_device_count()
            close_portaudio(pa) if guarded else pa.terminate()

    threads = [threading.Thread(target=start_and_stop) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print("survived")
""")


def run(mode: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", CHILD, mode], check=False, capture_output=True,
                          text=True, timeout=120, cwd=APP)


@pytest.mark.timeout(300)
def test_portaudio_from_several_threads_at_once(virtual_mic: Any) -> None:
    baseline = run("unguarded")
    print(f"unguarded: exit {baseline.returncode} {baseline.stderr.strip()[-120:]}")
    guarded = run("guarded")
    assert guarded.returncode == 0, guarded.stderr[-500:]
    assert guarded.stdout.strip() == "survived"

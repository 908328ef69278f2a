"""What the window loads at start: the media stacks only the native player and sound output use
(PyAV, aiortc, Qt Multimedia) wait until they are needed, so a session on the web view never
maps them (memory) and the window appears sooner (~0.2 s of imports here); so does demo mode's
embedded simulator (aiohttp's server side and the simulator, ~0.2 s), which a real service never
needs; and the network stack (aiohttp's client, PyJWT, keyring: ~0.4 s), which the first
connection loads after the window has painted; nor webrtcvad, a voice detector that is not the
default, which reads its version through importlib.metadata at import (~70 ms)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LATE = ("av", "aiortc", "PySide6.QtMultimedia", "ravatar_live.stream.audio_playback",
        "ravatar_live.simulator.server", "aiohttp", "jwt", "keyring",
        "webrtcvad", "importlib.metadata")

CHILD = f"""
import json, sys
import ravatar_live.app_runtime
import ravatar_live.ui.main_window
from ravatar_live.token_store import TokenStore
TokenStore()  # the window is built beside one; it looks for the keychain at first use
print(json.dumps([name for name in {LATE!r} if name in sys.modules]))
"""


def test_the_window_code_loads_no_media_stack_nor_network_stack_nor_the_simulator() -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen",
           "PYTHONPATH": os.pathsep.join([str(REPO / "app"), str(REPO)])}
    result = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-1500:]
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert loaded == [], f"loaded at start: {loaded}"

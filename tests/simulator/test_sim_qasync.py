"""The simulator inside a qasync loop, as the app's demo mode runs it.

It runs in a child process on purpose: a qasync loop started here would reset asyncio's running
loop for the whole pytest session and could break other GUI tests. The child does what the app
does (QApplication + QEventLoop, `with loop: loop.run_until_complete(...)`), then talks to the
simulator over a real socket: REST, a text reply, and a voice utterance whose speech recognition
runs on the recogniser's worker thread and hands back through qasync.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

CHILD = r'''
import asyncio, base64, json, os
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from PySide6.QtWidgets import QApplication
import qasync
import aiohttp
import numpy as np
from ravatar_live.simulator.server import SimulatorConfig, start_simulator

AVATAR = "e2a4c6d8-1b3d-4f5a-8c7e-9a0b1c2d3e4f"

async def main():
    sim = await start_simulator(SimulatorConfig(port=0, transcribe=True, utterance_gap_s=0.2))
    out = {}
    async with aiohttp.ClientSession() as http:
        async with http.post(sim.base_url + "/jwt", json={"user_id": "q", "project_id": "q"}) as r:
            token = (await r.json())["jwt"]
        auth = {"Authorization": "Bearer " + token}
        async with http.post(sim.base_url + "/startLiveSession", headers=auth,
                             json={"avatar_id": AVATAR}) as r:
            lid = (await r.json())["LicenseId"]
        async with http.ws_connect(sim.ws_url + "?token=" + token) as ws:
            await ws.send_json({"avatar_id": AVATAR, "request": "hello from qasync",
                                "chat_type": "text", "requestType": "text", "LicenseId": lid})
            out["text"] = (await ws.receive_json(timeout=10))["answer"]
            pcm = np.zeros(4096, dtype="<i2").tobytes()  # one 8192-byte chunk
            await ws.send_json({"avatar_id": AVATAR, "chat_type": "voice", "isLive": True,
                                "requestType": "audio", "LicenseId": lid,
                                "audio_base64_pcm": base64.b64encode(pcm).decode()})
            out["voice"] = (await ws.receive_json(timeout=20))["answer"]
        out["transcript"] = sim.utterances[0].transcript
        out["stats"] = sim.stats()
    await sim.close()
    print(json.dumps(out), flush=True)

app = QApplication([])
loop = qasync.QEventLoop(app)
with loop:
    loop.run_until_complete(main())
'''


def test_simulator_runs_in_a_qasync_loop() -> None:
    env = {**os.environ, "QT_API": "pyside6"}
    proc = subprocess.run([sys.executable, "-c", CHILD], check=False, capture_output=True,
                          text=True, timeout=60, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "hello from qasync" in out["text"]
    assert out["voice"].startswith(">")
    assert out["transcript"] is not None  # recognition ran (silence gives "")
    assert out["stats"] == {"live": 1, "issued": 1, "ended": 0, "expired": 0}

"""Figures for the simulator's WebRTC stream, seen by the app's own stream view (offscreen).

For each session size: time to first decoded frame (StreamHealth, from loading the stream page),
the stats the overlay shows, and the CPU the simulator process spends (render + VP8 encode +
RTP) while streaming, sampled over a steady window. The simulator runs as its own process (the
`ravatar-live-simulator` CLI) so its CPU is not mixed with Qt's.

    .venv/bin/python bench/bench_stream.py [--seconds 8] [--fps 15] [--codec VP8]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import aiohttp

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
if os.geteuid() == 0:
    os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWebEngineWidgets import QWebEngineView  # noqa: F401
from PySide6.QtWidgets import QApplication
from shiboken6 import Shiboken

QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)

from ravatar_live.api.urls import stream_url_with_token  # noqa: E402
from ravatar_live.live.stream_health import StreamHealth, StreamStats  # noqa: E402
from ravatar_live.ui.host_scheme import register_host_scheme  # noqa: E402
from ravatar_live.ui.stream_view import StreamView, install_stats_probe  # noqa: E402

AVATAR = "e2a4c6d8-1b3d-4f5a-8c7e-9a0b1c2d3e4f"
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def post(url: str, body: dict, token: str | None = None) -> dict:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(url, json.dumps(body).encode(), headers, method="POST")
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.load(r)


def spin(app: QApplication, until: Callable[[], bool], timeout_s: float) -> bool:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        app.processEvents()
        if until():
            return True
        time.sleep(0.005)
    return until()


def say_in_background(ws_url: str, token: str, license_id: str) -> threading.Thread:
    """Send one long chat message (the avatar then speaks for several seconds)."""
    async def send() -> None:
        async with aiohttp.ClientSession() as http, \
                http.ws_connect(f"{ws_url}?token={token}") as ws:
            await ws.send_json({"avatar_id": AVATAR, "user_id": "bench", "chat_type": "text",
                                "requestType": "text", "language": "en", "isLive": True,
                                "LicenseId": license_id,
                                "request": "Please tell me a long story about the sea, the "
                                           "wind and the lighthouse keeper who lived there."})
            await ws.receive_json(timeout=10)

    thread = threading.Thread(target=asyncio.run, args=(send(),), daemon=True)
    thread.start()
    return thread


def cpu_share(pid: int, app: QApplication, seconds: float) -> float:
    """Share of one core used by `pid` over `seconds` (while Qt keeps rendering)."""
    start_cpu, start = cpu_seconds(pid), time.monotonic()
    spin(app, lambda: False, seconds)
    return (cpu_seconds(pid) - start_cpu) / (time.monotonic() - start)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="CPU sampling window")
    parser.add_argument("--fps", type=float, default=15.0)
    parser.add_argument("--codec", default="VP8", choices=["VP8", "H264"])
    args = parser.parse_args()

    register_host_scheme()
    app = QApplication(sys.argv)
    sim = subprocess.Popen(
        [sys.executable, "-m", "ravatar_live.simulator.cli", "--port", "0", "--no-transcribe",
         "--stream-max-height", "1080", "--stream-fps", str(args.fps), "--video-codec",
         args.codec, "--max-licenses", "4"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert sim.stdout is not None
        base = sim.stdout.readline().strip()
        token = post(base + "/jwt", {"user_id": "bench", "project_id": "bench"})["jwt"]
        idle = cpu_share(sim.pid, app, 2.0)
        print(f"simulator idle CPU: {idle * 100:.1f}% of one core")
        print(f"codec {args.codec}, {args.fps:g} fps, {os.cpu_count()} cores")
        for width, height in ((640, 360), (1280, 720)):
            view = StreamView()
            install_stats_probe(view.stream_page.profile())
            health = StreamHealth(no_frames_timeout_s=15.0)
            view.page_message.connect(health.on_page_message)
            latest: list[StreamStats] = []
            health.stats_updated.connect(latest.append)
            problems: list[str] = []
            health.problem.connect(lambda _kind, text, p=problems: p.append(text))
            view.resize(width // 2 + 20, height // 2 + 20)
            view.show()
            spin(app, lambda: view.host_ready, 30)  # noqa: B023 - spin returns before the loop moves on
            started = post(base + "/startLiveSession", {"avatar_id": AVATAR, "width": str(width),
                                                        "height": str(height)}, token)
            health.begin()
            view.show_stream(stream_url_with_token(started["streamingUrl"], token), width, height)
            ok = spin(app, lambda: health.first_frame_s is not None or bool(problems),  # noqa: B023
                      30)
            if health.first_frame_s is not None:
                spin(app, lambda: False, 2.0)  # past the start-up burst
                share = cpu_share(sim.pid, app, args.seconds)
                stats = latest[-1] if latest else None
                say_in_background(base.replace("http", "ws", 1) + "/ws/chat", token,
                                  started["LicenseId"])
                speaking = cpu_share(sim.pid, app, args.seconds)
                talk = latest[-1] if latest else None
                print(f"{width}x{height}: first frame {health.first_frame_s:.2f} s; simulator "
                      f"CPU {share * 100:.0f}% of one core idle avatar, {speaking * 100:.0f}% "
                      f"while it speaks (peak bitrate {talk.bitrate_kbps if talk else '-'} "
                      "kbit/s); view saw "
                      + (f"{stats.video_codec} {stats.width}x{stats.height} {stats.fps} fps "
                         f"{stats.bitrate_kbps} kbit/s rtt {stats.rtt_ms} ms"
                         if stats else "no stats"))
            else:
                print(f"{width}x{height}: no frame ({'; '.join(problems) or 'timeout'}; ok={ok})")
            post(base + "/endLiveSession", {"LicenseId": started["LicenseId"]}, token)
            view.close()
            Shiboken.delete(view.stream_page)  # pages before their profile's end
            Shiboken.delete(view)
            spin(app, lambda: False, 0.5)
    finally:
        sim.terminate()
        sim.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())

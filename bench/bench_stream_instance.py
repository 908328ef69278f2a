"""Figures for one license's Pixel Streaming instance, seen by an aiortc player (no browser).

Per codec (H.264 and VP8, 1280x720): the time from POST /startLiveSession to the instance serving
its page, to the streamer's offer, and to the first frame the player decodes (median of several
runs), and the CPU one streaming instance costs the simulator process (render, encode, RTP) at
the configured frame rate, over a steady window, minus the idle simulator. The simulator runs as
its own process (the CLI) so its CPU is not mixed with the player's.

    PYTHONPATH=. .venv/bin/python bench/bench_stream_instance.py [--seconds 8] [--fps 15] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

from tests.simulator.stream_player import answering_player, signalling

AVATAR = "e2a4c6d8-1b3d-4f5a-8c7e-9a0b1c2d3e4f"
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


async def cpu_share(pid: int, seconds: float) -> float:
    """Share of one core used by `pid` over `seconds`."""
    start_cpu, start = cpu_seconds(pid), time.monotonic()
    await asyncio.sleep(seconds)
    return (cpu_seconds(pid) - start_cpu) / (time.monotonic() - start)


class Api:
    def __init__(self, http: aiohttp.ClientSession, base: str, token: str) -> None:
        self.http, self.base, self.auth = http, base, {"Authorization": f"Bearer {token}"}
        self.token = token

    async def post(self, path: str, body: dict) -> dict:
        async with self.http.post(self.base + path, json=body, headers=self.auth) as r:
            return await r.json()


async def one_start(api: Api) -> tuple[dict[str, float], str]:
    """Seconds from the start request to serving, to the offer and to the first frame."""
    t0 = time.monotonic()
    started = await api.post("/startLiveSession",
                             {"avatar_id": AVATAR, "width": "1280", "height": "720"})
    async with api.http.get(f"{started['streamingUrl']}?token={api.token}") as page:
        assert page.status == 200, page.status
    serving = time.monotonic() - t0
    origin = started["streamingUrl"].rstrip("/")
    async with signalling(api.http, origin, api.token) as sig, answering_player() as player:
        offer = await sig.subscribe()
        offered = time.monotonic() - t0
        await sig.send({"type": "answer", "sdp": await player.answer(offer["sdp"])})
        frame = await player.next_frame()
        first_frame = time.monotonic() - t0
        assert (frame.width, frame.height) == (1280, 720)
    await api.post("/endLiveSession", {"LicenseId": started["LicenseId"]})
    return {"serving": serving, "offer": offered, "first frame": first_frame}, origin


async def streaming_cpu(api: Api, pid: int, seconds: float) -> float:
    started = await api.post("/startLiveSession",
                             {"avatar_id": AVATAR, "width": "1280", "height": "720"})
    origin = started["streamingUrl"].rstrip("/")
    async with signalling(api.http, origin, api.token) as sig, answering_player() as player:
        offer = await sig.subscribe()
        await sig.send({"type": "answer", "sdp": await player.answer(offer["sdp"])})
        await player.next_frame()
        await asyncio.sleep(1.0)  # past the encoder's start-up
        share = await cpu_share(pid, seconds)
    await api.post("/endLiveSession", {"LicenseId": started["LicenseId"]})
    return share


async def measure(base: str, pid: int, codec: str, args: argparse.Namespace) -> None:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.post(base + "/jwt", json={"user_id": "bench", "project_id": "bench"}) as r:
            api = Api(http, base, (await r.json())["jwt"])
        idle = await cpu_share(pid, 2.0)
        runs = [(await one_start(api))[0] for _ in range(args.runs)]
        busy = await streaming_cpu(api, pid, args.seconds)
    print(f"{codec} 1280x720 {args.fps:g} fps ({args.runs} runs, median):")
    for key in ("serving", "offer", "first frame"):
        values = [run[key] for run in runs]
        print(f"  start -> {key:<12} {statistics.median(values) * 1000:7.0f} ms "
              f"(min {min(values) * 1000:.0f}, max {max(values) * 1000:.0f})")
    print(f"  streamer CPU: {(busy - idle) * 100:.0f}% of one core per instance "
          f"(simulator {busy * 100:.0f}% streaming, {idle * 100:.1f}% idle)")


def bench_codec(codec: str, args: argparse.Namespace) -> None:
    sim = subprocess.Popen(
        [sys.executable, "-m", "ravatar_live.simulator.cli", "--port", "0", "--no-transcribe",
         "--no-stream-voice", "--video-codec", codec, "--stream-fps", str(args.fps),
         "--max-licenses", "4"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert sim.stdout is not None
        asyncio.run(measure(sim.stdout.readline().strip(), sim.pid, codec, args))
    finally:
        sim.terminate()
        sim.wait(timeout=10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="CPU sampling window")
    parser.add_argument("--fps", type=float, default=15.0)
    parser.add_argument("--runs", type=int, default=3, help="starts timed per codec")
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores")
    for codec in ("H264", "VP8"):
        bench_codec(codec, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The app against a Chromium tab showing the same stream: CPU (% of one core, whole process
tree) and PSS (MiB, whole process tree), side by side in one run.

For each stream player, one simulator (in this process, like a remote service) streams 1280x720
at its default 15 fps: VP8 for the web view (what QtWebEngine can decode) and H.264 for the
native player, and Chromium (Debian's package, which decodes both) shows that same stream page,
so the same pixels are compared. The app runs as a real process under Xvfb (the xcb platform, as
on a desktop without a GPU) with a private PulseAudio virtual microphone and speaker, so its
audio paths are real. Chromium runs twice: windowed on the same display (painting each frame into
a window, as the app does and as a person's browser tab would) and headless (decoding only, never
compositing: a floor, not a like-for-like). Each scenario is a fresh process:

  idle        the app connected, no live session  |  Chromium on about:blank
  live PTT    live, push-to-talk, nobody talking   |  Chromium showing the stream page
  hands-free  live, hands-free listening to silence|  (the same Chromium figure)

A first, unmeasured start of the app probes the display's OpenGL and every measured start
begins with what it found (ravatar_live.rendering), as a user's second start does.

Rounds alternate the order (app first, then the browsers first) so neither gains from running
second on a warm machine; figures are the median over rounds. Run:

  PYTHONPATH=app:. .venv/bin/python bench/bench_vs_browser.py [--rounds 2] [--window 20]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ravatar_live.simulator.server import SimulatorConfig
from ravatar_live.simulator.threaded import SimulatorThread
from tests.support.app_process import AppProcess
from tests.support.process_tree import TreeCpu, process_name, tree_pss_kib
from tests.support.soak import stream_players_total
from tests.support.virtual_audio import VirtualAudio, start_virtual_audio
from tests.support.x11 import Xvfb

PROJECT_ID = "bench-vs-browser"
USER_ID = "0123456789abcdef01234567"
CHROMIUM_FLAGS = ("--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync",
                  # The app lets the avatar speak without a click; so must the browser, or it
                  # plays the video muted and skips the audio path.
                  "--autoplay-policy=no-user-gesture-required", "--window-size=1280,720")
#: How Chromium shows the page. "windowed": a browser window on the same Xvfb display as the
#: app, painting every frame into it as the app does (what a person has open beside it);
#: "headless": decoding without ever compositing into a window (a floor, not a like-for-like).
BROWSER_MODES = {"windowed": ("--ozone-platform=x11", "--window-position=0,0"),
                 "headless": ("--headless",)}
PLAYERS = {"web": "VP8", "native": "H264"}
SCENARIOS = ("idle", "ptt", "hands-free")
#: What the app's rendering probe found for the display (ravatar_live.rendering): every app run
#: starts with it, as a user's second start does, so none loads an OpenGL driver it won't use.
RENDERING_MEMORY = "rendering.json"
LABELS = {"idle": "connected, not live", "ptt": "live, push-to-talk idle",
          "hands-free": "live, hands-free, silence"}


@dataclass
class Figures:
    cpu: float  # % of one core
    pss_mib: float
    fps: float  # frames the simulator sent to this player per second (0 when not streaming)
    biggest: str  # the tree's largest processes by PSS, and its busiest by CPU


@dataclass
class Bench:
    window_s: float
    warmup_s: float
    audio: VirtualAudio
    xvfb: Xvfb
    home: Path
    app_env: dict[str, str]  # extra environment for the app (to try a setting: --app-env)
    scenarios: tuple[str, ...] = SCENARIOS
    browser_modes: tuple[str, ...] = tuple(BROWSER_MODES)
    #: The app window's size ("1800x1000"); None: the app's own first-run size (1360x820).
    app_window: str | None = None


def measure_tree(root: int, bench: Bench, sim: SimulatorThread | None) -> Figures:
    """CPU over the window (sampled every second), PSS at its end, frames sent during it."""
    time.sleep(bench.warmup_s)  # past start-up's one-off work (the window measures steady state)
    sent_before = frames_sent(sim)
    cpu = TreeCpu(root)
    cpu.start()
    end = time.monotonic() + bench.window_s
    while time.monotonic() < end:
        time.sleep(1.0)  # the sampling period
        cpu.sample()
    by_process = cpu.by_process()
    fps = (frames_sent(sim) - sent_before) / bench.window_s
    pss = tree_pss_kib(root)
    biggest = sorted(pss.items(), key=lambda item: -item[1])[:4]
    busiest = sorted(by_process.items(), key=lambda item: -item[1])[:3]
    return Figures(sum(by_process.values()), sum(pss.values()) / 1024, fps,
                   "PSS MiB " + ", ".join(f"{process_name(pid)} {kib / 1024:.0f}"
                                          for pid, kib in biggest)
                   + "; CPU % " + ", ".join(f"{process_name(pid)} {share:.1f}"
                                            for pid, share in busiest))


def frames_sent(sim: SimulatorThread | None) -> int:
    return 0 if sim is None else stream_players_total(sim, "frames_sent")


# --- the app -----------------------------------------------------------------------------------
def run_app(bench: Bench, sim: SimulatorThread, player: str, scenario: str,
            tag: str) -> Figures:
    home = bench.home / f"app-{tag}"
    args = ["--api-url", sim.base_url, "--project-id", PROJECT_ID, "--user-id", USER_ID,
            "--stream-player", player,
            "--voice-mode", "vad" if scenario == "hands-free" else "push-to-talk"]
    if scenario not in ("idle", "prime"):
        args.append("--start")
    env = {**bench.audio.env, "QT_QPA_PLATFORM": "xcb", "DISPLAY": bench.xvfb.display,
           **bench.app_env}
    if os.geteuid() == 0:
        env["QTWEBENGINE_DISABLE_SANDBOX"] = "1"
    remembered = home / "state" / "ravatar-live" / RENDERING_MEMORY
    if (bench.home / RENDERING_MEMORY).exists():
        remembered.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(bench.home / RENDERING_MEMORY, remembered)
    app = AppProcess(args, home=home, env=env)
    try:
        app.wait_for(r"startup complete", 60)
        if scenario == "prime":
            shutil.copy(remembered, bench.home / RENDERING_MEMORY)
            return Figures(0.0, 0.0, 0.0, "")
        if bench.app_window:
            resize_window(app.proc.pid, bench.app_window, env)
        if scenario != "idle":
            app.wait_for(r"time to first decoded frame", 60)
        return measure_tree(app.proc.pid, bench, sim if scenario != "idle" else None)
    finally:
        app.terminate()
        try:
            app.wait_exit(30)
        except subprocess.TimeoutExpired:
            app.kill()


def resize_window(pid: int, size: str, env: dict[str, str]) -> None:
    """Give the app's window `size` (WxH) with xdotool (Xvfb has no window manager to ask)."""
    width, height = size.split("x")
    found = subprocess.run(["xdotool", "search", "--sync", "--onlyvisible", "--pid", str(pid)],
                           env={**os.environ, **env}, capture_output=True, text=True,
                           timeout=30, check=True)
    for window in found.stdout.split():
        subprocess.run(["xdotool", "windowsize", window, width, height],
                       env={**os.environ, **env}, timeout=30, check=True)


# --- Chromium ----------------------------------------------------------------------------------
def _post(url: str, body: dict[str, object], token: str | None = None) -> dict[str, object]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, json.dumps(body).encode(), headers, method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        answer: dict[str, object] = json.loads(response.read())
    return answer


@contextmanager
def stream_license(sim: SimulatorThread) -> Iterator[str]:
    """A live license of its own for the browser: the stream URL with its token."""
    token = str(_post(f"{sim.base_url}/jwt", {"user_id": USER_ID, "project_id": PROJECT_ID})
                ["jwt"])
    request = urllib.request.Request(f"{sim.base_url}/connection",
                                     headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        avatars = json.loads(response.read())["avatars_info"]
    started = _post(f"{sim.base_url}/startLiveSession",
                    {"avatar_id": avatars[0]["_id"], "width": "1280", "height": "720"}, token)
    try:
        yield f"{started['streamingUrl']}?token={token}"
    finally:
        _post(f"{sim.base_url}/endLiveSession", {"LicenseId": started["LicenseId"]}, token)


def wait_until(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.2)  # polling the simulator's counters (no event crosses processes)


def run_chromium(bench: Bench, sim: SimulatorThread | None, mode: str, tag: str) -> Figures:
    exe = shutil.which("chromium")
    assert exe, "Chromium is needed for this bench (Debian: apt-get install chromium)"
    profile = Path(tempfile.mkdtemp(prefix=f"chromium-{tag}-", dir=bench.home))
    with contextmanager_or_blank(sim) as url:
        proc = subprocess.Popen([exe, *CHROMIUM_FLAGS, *BROWSER_MODES[mode],
                                 f"--user-data-dir={profile}", url],
                                env={**os.environ, **bench.audio.env,
                                     "DISPLAY": bench.xvfb.display},
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            if sim is not None:  # the page is playing once frames flow to it
                wait_until(lambda: frames_sent(sim) > 0, 60, "Chromium's first frame")
            return measure_tree(proc.pid, bench, sim)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@contextmanager
def contextmanager_or_blank(sim: SimulatorThread | None) -> Iterator[str]:
    if sim is None:
        yield "about:blank"
        return
    with stream_license(sim) as url:
        yield url


# --- the run -----------------------------------------------------------------------------------
def bench_player(bench: Bench, player: str, rounds: int) -> dict[str, list[Figures]]:
    codec = PLAYERS[player]
    results: dict[str, list[Figures]] = {}
    config = SimulatorConfig(port=0, max_licenses=50, transcribe=False,
                             stream_video_codec=codec)
    with SimulatorThread(config) as sim:
        for number in range(rounds):
            app_first = number % 2 == 0
            browsers = [f"chromium-{mode}" for mode in bench.browser_modes]
            order = ["app", *browsers] if app_first else [*browsers, "app"]
            for who in order:
                for scenario in bench.scenarios:
                    tag = f"{player}-{who}-{scenario}-{number}"
                    if who == "app":
                        figures = run_app(bench, sim, player, scenario, tag)
                    elif scenario == "hands-free":
                        continue  # a browser tab has no hands-free: compared with its live figure
                    else:
                        figures = run_chromium(bench, sim if scenario != "idle" else None,
                                               who.removeprefix("chromium-"), tag)
                    results.setdefault(f"{who}/{scenario}", []).append(figures)
                    print(f"  {player:6} {who:18} {scenario:10} round {number + 1}: "
                          f"CPU {figures.cpu:5.1f} %  PSS {figures.pss_mib:6.0f} MiB  "
                          f"{figures.fps:4.1f} fps  [{figures.biggest}]", flush=True)
    return results


def table(player: str, results: dict[str, list[Figures]], mode: str) -> None:
    browser = f"chromium-{mode}"
    if f"{browser}/ptt" not in results or "app/ptt" not in results:
        return  # a partial run (--browsers "", --scenarios): the lines above are its figures

    def median(key: str, attr: str) -> float:
        return statistics.median(getattr(f, attr) for f in results[key])

    print(f"\n{player} player ({PLAYERS[player]} stream) against Chromium {mode}, medians of "
          f"{len(results['app/ptt'])} rounds")
    print(f"  {'scenario':28} {'app CPU':>8} {'Chromium':>9} {'ratio':>6}   "
          f"{'app PSS':>8} {'Chromium':>9} {'ratio':>6}   {'fps app/Chr':>11}")
    for scenario in (s for s in SCENARIOS if f"app/{s}" in results):
        theirs = f"{browser}/ptt" if scenario == "hands-free" else f"{browser}/{scenario}"
        app_key = f"app/{scenario}"
        cpu_a, cpu_b = median(app_key, "cpu"), median(theirs, "cpu")
        pss_a, pss_b = median(app_key, "pss_mib"), median(theirs, "pss_mib")
        fps = f"{median(app_key, 'fps'):.1f}/{median(theirs, 'fps'):.1f}"
        print(f"  {LABELS[scenario]:28} {cpu_a:7.1f}% {cpu_b:8.1f}% {cpu_a / max(cpu_b, 0.1):6.2f}"
              f"   {pss_a:7.0f}M {pss_b:8.0f}M {pss_a / max(pss_b, 1):6.2f}   {fps:>11}")
    if "app/hands-free" in results:
        extra = median("app/hands-free", "cpu") - median("app/ptt", "cpu")
        print(f"  hands-free listening adds {extra:+.1f} % of a core over push-to-talk idle")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--window", type=float, default=20.0, help="seconds measured")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds before measuring")
    parser.add_argument("--players", default="web,native")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--browsers", default=",".join(BROWSER_MODES),
                        help="Chromium modes to compare with (windowed, headless; empty: "
                             "the app's figures only)")
    parser.add_argument("--app-env", action="append", default=[], metavar="NAME=VALUE",
                        help="run the app with this in its environment (to try a setting)")
    parser.add_argument("--app-window", metavar="WxH",
                        help="resize the app's window (e.g. 1800x1000: a stream area larger "
                             "than the 1280x720 stream, which is then shown 1:1)")
    options = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="bench-vs-browser-"))
    audio = start_virtual_audio()
    xvfb = Xvfb("1920x1080x24")
    app_env = dict(item.split("=", 1) for item in options.app_env)
    bench = Bench(options.window, options.warmup, audio, xvfb, home, app_env,
                  tuple(options.scenarios.split(",")),
                  tuple(mode for mode in options.browsers.split(",") if mode),
                  options.app_window)
    print(f"# {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores, Xvfb {xvfb.display}, "
          f"window {options.window:g} s after {options.warmup:g} s, python {sys.version.split()[0]}"
          + (f", app environment {app_env}" if app_env else "")
          + (f", app window {options.app_window}" if options.app_window else ""))
    try:
        with SimulatorThread(SimulatorConfig(port=0, stream_webrtc=False)) as sim:
            run_app(bench, sim, "web", "prime", "prime")  # the probing start, not measured
        all_results = {player: bench_player(bench, player, options.rounds)
                       for player in options.players.split(",")}
        for player, results in all_results.items():
            for mode in bench.browser_modes:
                table(player, results, mode)
    finally:
        xvfb.stop()
        audio.stop()
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()

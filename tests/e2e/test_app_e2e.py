"""The real app process end to end: Xvfb (xcb), the PulseAudio virtual microphone, the simulator.

`test_app_live_voice_screenshot_and_clean_end` is the issue's end-to-end test: start with
`--start --voice-mode vad`, speak into the virtual microphone (espeak-ng via paplay), wait for the
reply, screenshot the real window (kept in artifacts/), close with SIGTERM and prove at the
simulator that the license was ended. `test_app_exit_after_ends_the_license` does the same close
through RAVATAR_LIVE_EXIT_AFTER_S, headless, and checks the contract log lines.

The simulator runs in this test process (its own thread and loop) so that it outlives the app:
what it counted after the app exited is the proof.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ravatar_live.simulator.server import SimulatorConfig
from ravatar_live.simulator.threaded import SimulatorThread
from tests.support.app_process import AppProcess
from tests.support.x11 import Xvfb

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "artifacts"


def region_stats(image: Path, geometry: str) -> tuple[float, float]:
    """(mean, standard deviation) of a crop `WxH+X+Y`, both 0..1 (ImageMagick)."""
    out = subprocess.run(
        ["convert", str(image), "-crop", geometry, "+repage", "-colorspace", "Gray",
         "-format", "%[fx:mean] %[fx:standard_deviation]", "info:"],
        check=True, capture_output=True, text=True, timeout=30).stdout.split()
    return float(out[0]), float(out[1])


@pytest.fixture
def simulator() -> Iterator[SimulatorThread]:
    # The avatar's synthesized voice is off: its espeak-ng children would outlive the
    # simulator's loop. The video stream (WebRTC) is H.264 only, the simulator's default, like
    # Unreal's: the web view refuses it and the app's own player must show the avatar.
    with SimulatorThread(SimulatorConfig(port=0, transcribe=True, utterance_gap_s=0.7,
                                         stream_voice=False)) as sim:
        yield sim


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> Path:
    espeak = shutil.which("espeak-ng")
    assert espeak, "espeak-ng is required (Debian: apt-get install espeak-ng)"
    raw = tmp_path_factory.mktemp("e2e-speech") / "raw.wav"
    subprocess.run([espeak, "-v", "en-us", "-s", "140", "-w", str(raw),
                    "What is the weather like today?"], check=True, timeout=30)
    # One second of silence around it, as a person pauses before and after speaking.
    padded = raw.with_name("speech.wav")
    subprocess.run(["sox", str(raw), str(padded), "pad", "1", "1"], check=True, timeout=30)
    return padded


def app_args(sim: SimulatorThread, *extra: str) -> list[str]:
    return ["--api-url", sim.base_url, "--project-id", "e2e-project", *extra]


def test_app_exit_after_ends_the_license(simulator, tmp_path) -> None:
    app = AppProcess(app_args(simulator, "--start"), home=tmp_path,
                     env={"QT_QPA_PLATFORM": "offscreen", "RAVATAR_LIVE_EXIT_AFTER_S": "4"})
    try:
        app.wait_for(r"startup complete")
        license_id = app.wait_for(r"live session (license-[0-9a-f]+) started").group(1)
        app.wait_for(r"stream event: ravatar-session-start")
        assert app.wait_exit(30) == 0
    finally:
        app.kill()
    log = app.text()
    assert "live session ended" in log
    assert "Traceback" not in log
    stats = simulator.call(lambda s: s.stats())
    assert stats == {"live": 0, "issued": 1, "ended": 1, "expired": 0}
    assert simulator.call(lambda s: s.live_license_ids()) == []
    assert license_id in log
    assert "token=" not in log and "eyJ" not in log, "a token reached the log"


def test_app_live_voice_screenshot_and_clean_end(simulator, speech, virtual_mic,
                                                 tmp_path) -> None:
    xvfb = Xvfb()
    app = AppProcess(app_args(simulator, "--start", "--voice-mode", "vad"), home=tmp_path,
                     env={"QT_QPA_PLATFORM": "xcb", "DISPLAY": xvfb.display})
    try:
        app.wait_for(r"startup complete")
        license_id = app.wait_for(r"live session (license-[0-9a-f]+) started").group(1)
        app.wait_for(r"stream event: ravatar-session-start")
        app.wait_for(r"switching the stream player from web to native")
        app.wait_for(r"the native player showed its first frame")
        app.wait_for(r"microphone open")
        subprocess.run(["paplay", "-d", "vsink", str(speech)], check=True, timeout=60)
        app.wait_for(r"reply received \(\d+ chars, with transcript\)", timeout_s=60)
        utterances = simulator.call(lambda s: list(s.utterances))
        assert utterances, "the simulator heard nothing"
        transcript = (utterances[0].transcript or "").lower()
        assert any(w in transcript for w in ("weather", "today", "what")), transcript
        # The window repaints on its own schedule after the reply arrived: poll the screen.
        shot = ARTIFACTS / "e2e-app-live.png"
        previous = None
        for _attempt in range(30):
            xvfb.screenshot(shot)
            # The stream area (left, below the top bar) shows the avatar, not a flat colour;
            # the conversation pane (right, bottom-anchored) holds the two turns. Settled
            # means the pane looks the same in two screenshots in a row.
            _, stream_spread = region_stats(shot, "600x400+120+120")
            pane = region_stats(shot, "320x400+990+340")
            pane_spread = pane[1]
            if stream_spread > 0.03 and pane_spread > 0.02 and pane == previous:
                break
            previous = pane
            time.sleep(0.3)
        shutil.copy(shot, tmp_path / shot.name)
        assert stream_spread > 0.03, f"the stream area looks blank (std {stream_spread:.3f})"
        players = simulator.call(lambda s: s.stream_players(license_id))
        assert [(p["codec"], p["frames_sent"] > 0) for p in players] == [("H264", True)], \
            "only the app's own player shows the H.264 stream"
        assert pane_spread > 0.02, f"the conversation pane looks empty (std {pane_spread:.3f})"

        app.terminate()  # SIGTERM: the same close path as the window's close button
        assert app.wait_exit(30) == 0
    finally:
        app.kill()
        xvfb.stop()
    log = app.text()
    assert "live session ended" in log
    assert "Traceback" not in log
    stats = simulator.call(lambda s: s.stats())
    assert stats["live"] == 0 and stats["ended"] == 1 and stats["expired"] == 0
    assert license_id not in simulator.call(lambda s: s.live_license_ids())


def opengl_libraries(pid: int) -> set[str]:
    """The OpenGL driver libraries mapped into a process (Mesa's llvmpipe brings LLVM)."""
    with open(f"/proc/{pid}/maps") as maps:
        names = {line.split()[-1].rsplit("/", 1)[-1] for line in maps if "/" in line}
    return {n for n in names if n.startswith(("libLLVM", "libGLX_mesa", "swrast_dri"))}


def test_a_display_known_to_lack_a_gpu_draws_without_opengl(tmp_path) -> None:
    """The first start probes OpenGL (Xvfb: Mesa's llvmpipe, a CPU rasteriser: software
    drawing) and remembers it for this display; the next start goes without OpenGL from the
    first moment, so Mesa and its LLVM (~32 MiB) never load, and the web view still decodes and
    shows the avatar's VP8 video."""
    xvfb = Xvfb()
    shot = tmp_path / "no-opengl.png"
    env = {"QT_QPA_PLATFORM": "xcb", "DISPLAY": xvfb.display}
    config = SimulatorConfig(port=0, transcribe=False, stream_voice=False,
                             stream_video_codec="VP8")
    try:
        with SimulatorThread(config) as sim:
            mapped = []
            for _start in range(2):
                app = AppProcess(app_args(sim, "--start", "--stream-player", "web"),
                                 home=tmp_path, env=env)
                try:
                    app.wait_for(r"time to first decoded frame")
                    mapped.append(opengl_libraries(app.proc.pid))
                    spread = stream_area_spread(xvfb, shot)
                    app.terminate()
                    assert app.wait_exit(30) == 0
                finally:
                    app.kill()
            log = app.text()
    finally:
        xvfb.stop()
    assert mapped[0], "the probing start loaded no OpenGL driver: the check sees nothing"
    assert mapped[1] == set(), mapped[1]
    assert "without OpenGL (this display has no graphics processor)" in log
    assert "Traceback" not in log
    assert spread > 0.03, f"the stream area looks blank without OpenGL (std {spread:.3f})"


def stream_area_spread(xvfb: Xvfb, shot: Path) -> float:
    """How much the stream area varies (0: a flat colour), once the video has painted."""
    spread = 0.0
    for _attempt in range(30):
        xvfb.screenshot(shot)
        spread = region_stats(shot, "600x400+120+120")[1]
        if spread > 0.03:
            break
        time.sleep(0.3)  # the window repaints on its own schedule: poll the screen
    return spread

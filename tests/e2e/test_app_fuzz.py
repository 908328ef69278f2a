"""Bad input at scale: the REAL app process, live, against a simulator in hostile mode.

The simulator sends more than 10,000 random frames (arbitrary JSON, known types with wrong field
types, huge strings, binary frames, bytes that are not UTF-8, undocumented types, deep nesting)
on the chat socket, a steady spray plus a burst before every real reply. Meanwhile the user
speaks (PulseAudio virtual microphone) and the real voice path must still work. Proof the app
kept running: the utterance reaches the server during the flood, the process is alive after it,
SIGTERM still takes the normal close path (exit 0, license ended at the simulator), the log holds
no traceback and no unhandled error (the app's excepthook and loop exception handler log every
escaped exception as "unhandled"), and the chat socket was never dropped because of the junk.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from leak_campaign import launch  # type: ignore[import-not-found]  # tests/e2e on sys.path

from ravatar_live.simulator.server import SimulatorConfig
from ravatar_live.simulator.threaded import SimulatorThread

pytestmark = pytest.mark.e2e

FRAMES = 10_000


@pytest.fixture
def hostile_sim() -> Iterator[SimulatorThread]:
    with SimulatorThread(SimulatorConfig(
            port=0, transcribe=False, stream_webrtc=False, stream_voice=False, hostile=True,
            hostile_frames_per_message=20, hostile_spray_per_s=2500, hostile_spray_limit=FRAMES,
            hostile_seed=7)) as sim:
        yield sim


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> Path:
    espeak = shutil.which("espeak-ng")
    assert espeak, "espeak-ng is required (Debian: apt-get install espeak-ng)"
    raw = tmp_path_factory.mktemp("fuzz-speech") / "raw.wav"
    subprocess.run([espeak, "-v", "en-us", "-s", "150", "-w", str(raw),
                    "Can you still hear me through all this noise?"], check=True, timeout=30)
    padded = raw.with_name("speech.wav")
    subprocess.run(["sox", str(raw), str(padded), "pad", "0.3", "1"], check=True, timeout=30)
    return padded


def wait_for_the_flood(sim: SimulatorThread, stall_s: float = 60.0) -> int:
    """Wait until the spray's FRAMES frames went out. A loaded machine may take its time (the
    app reads slowly, TCP holds the simulator back); it fails only when no frame went out for
    `stall_s`."""
    sent, last = 0, -1
    while sent < FRAMES:
        if sent == last:
            raise AssertionError(f"the flood stalled at {sent} of {FRAMES} frames")
        last = sent
        try:
            sent = sim.run(sim.sim.wait_for_hostile_frames(FRAMES, within_s=stall_s),
                           timeout_s=stall_s + 10)
        except TimeoutError:
            sent = sim.call(lambda s: s.hostile_frames_sent)
    return sent


@pytest.mark.timeout(600)
def test_the_app_survives_ten_thousand_hostile_frames(hostile_sim, virtual_mic, speech,
                                                      tmp_path) -> None:
    sim = hostile_sim
    app = launch(["--api-url", sim.base_url, "--project-id", "fuzz-project", "--start",
                  "--voice-mode", "vad"], tmp_path, {})
    try:
        app.wait_for(r"live session license-\S+ started")
        app.wait_for(r"microphone open")
        subprocess.run(["paplay", "-d", "vsink", str(speech)], check=True, timeout=60)
        utterances = sim.run(sim.sim.wait_for_utterances(1, within_s=30))
        assert utterances[0].duration_s > 1.0, "the take reached the server whole"
        sent = wait_for_the_flood(sim)
        assert app.proc.poll() is None, "the app died under the flood"
        assert app.poll_for(r"take finished"), "the voice path kept working"
        app.signal(signal.SIGTERM)
        assert app.wait_exit(30) == 0
    finally:
        app.kill()
    log = app.text()
    assert sent >= FRAMES
    assert "live session ended" in log
    assert "Traceback" not in log, log[-3000:]
    assert "unhandled" not in log, log[-3000:]
    assert log.count("chat link connected") == 1, "junk must not break the chat socket"
    assert sim.call(lambda s: s.stats())["live"] == 0
    # The junk was really read and handled, not left in a socket buffer: the app logs every
    # reply-shaped frame it parsed (about one frame in ten is one).
    handled = app.wait_for_count(r"reply received", FRAMES // 20)
    assert handled > FRAMES // 20, f"only {handled} reply-shaped frames were handled"
    print(f"hostile frames sent while the app ran: {sim.call(lambda s: s.hostile_frames_sent)}, "
          f"reply-shaped frames handled: {handled}")

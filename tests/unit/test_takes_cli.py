"""`ravatar-live-takes` runs the app's VAD + take logic on any WAV and prints JSON lines."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soxr

from ravatar_live.audio.takes_cli import main
from tests.support.speech_synth import compose, espeak_available, synthesize


def _write_wav_48k_stereo_float(path: Path, samples16k: np.ndarray) -> None:
    import struct

    x = soxr.resample(samples16k.astype(np.float32) / 32768.0, 16000, 48000)
    stereo = np.stack([x, x * 0.5], axis=1).astype("<f4").tobytes()
    header = struct.pack("<4sI4s4sIHHIIHH4sI", b"RIFF", 36 + len(stereo), b"WAVE", b"fmt ", 16,
                         3, 2, 48000, 48000 * 8, 8, 32, b"data", len(stereo))
    path.write_bytes(header + stereo)


@pytest.fixture(scope="module")
def speech_wav(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[float]]:
    if not espeak_available():
        pytest.fail("espeak-ng is required (Debian: apt-get install espeak-ng)")
    clip = compose([synthesize("Good morning, how are you today?"),
                    synthesize("Please call me back.", voice="en-gb")], [1.8])
    path = tmp_path_factory.mktemp("cli") / "two.wav"
    _write_wav_48k_stereo_float(path, clip.samples)  # any rate, any channels, float: it converts
    return path, [t.end_s for t in clip.truth]


def test_prints_one_json_object_per_take(speech_wav: tuple[Path, list[float]],
                                         capsys: pytest.CaptureFixture[str]) -> None:
    path, ends = speech_wav
    assert main([str(path)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines) == 2
    for take, end in zip(lines, ends, strict=True):
        assert set(take) == {"start_s", "end_s", "closed_s"}
        assert take["start_s"] < take["end_s"] < take["closed_s"]
        assert abs(take["end_s"] - end) < 0.25


def test_backend_and_parameters_are_options(speech_wav: tuple[Path, list[float]],
                                            capsys: pytest.CaptureFixture[str]) -> None:
    path, _ = speech_wav
    # the hangover ends takes when the end-of-turn model is off (otherwise it is its fallback)
    assert main([str(path), "--backend", "webrtc", "--hangover-ms", "600",
                 "--wait-for-finish", "off"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines) == 2
    assert all(t["closed_s"] - t["end_s"] >= 0.55 for t in lines)


def test_bad_input_is_a_readable_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bogus = tmp_path / "not.wav"
    bogus.write_bytes(b"hello")
    assert main([str(bogus)]) == 2
    assert "not a WAV file" in capsys.readouterr().err
    assert main([str(tmp_path / "missing.wav")]) == 2
    assert "Cannot read" in capsys.readouterr().err
    assert main([str(bogus), "--threshold", "2"]) == 2
    assert "threshold" in capsys.readouterr().err


def test_console_script_runs(speech_wav: tuple[Path, list[float]]) -> None:
    exe = Path(sys.executable).with_name("ravatar-live-takes")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "ravatar_live.audio.takes_cli"]
    out = subprocess.run([*cmd, str(speech_wav[0])], capture_output=True, text=True, check=True,
                         timeout=60)
    assert len(out.stdout.splitlines()) == 2

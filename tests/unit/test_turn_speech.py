"""End of turn on real espeak-ng speech: a sentence with a pause in the middle.

"I would like a table for two, [500 ms] tomorrow evening." The old 300 ms hangover cuts it in
two; the end-of-turn logic (the model judges the audio so far; unless it is very sure the
sentence is finished, the take waits out the pause) keeps one take, in every voice family.
The same holds in the takes tool and in the app's VoiceController (model on its worker
thread); with the model missing, hands-free falls back to the hangover and says why.
"""

from __future__ import annotations

import asyncio
import json
import struct
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from ravatar_live.audio.capture_file import FileReplayCapture
from ravatar_live.audio.settings import TakeSettings, VoiceSettings
from ravatar_live.audio.takes import find_takes
from ravatar_live.audio.takes_cli import main
from ravatar_live.audio.turn_judge import BackgroundJudge, InlineJudge, TurnJudge
from ravatar_live.audio.turn_model import SmartTurnModel
from ravatar_live.audio.vad import SileroVad
from ravatar_live.audio.voice import VoiceController
from tests.support.speech_synth import Clip, compose, espeak_available
from tests.support.take_quality import phrased_sentence
from tests.support.voices import ALL_VOICES, ESPEAK_VOICES, FAMILIES, missing_families

PAUSE_S = 0.5


@pytest.fixture(scope="module")
def sentence() -> Clip:
    if not espeak_available():
        pytest.fail("espeak-ng is required (Debian: apt-get install espeak-ng)")
    speech = phrased_sentence(("I would like a table for two", "tomorrow evening."), [PAUSE_S],
                              voice=ESPEAK_VOICES[0], rate=0.85, level_rms=0.06)
    return compose([speech], [], lead_s=1.0, tail_s=2.0)


@pytest.fixture(scope="module")
def model() -> SmartTurnModel:
    return SmartTurnModel()


def test_the_old_hangover_splits_the_sentence(sentence: Clip) -> None:
    takes = find_takes(sentence.samples, SileroVad(), replace(TakeSettings(), turn=None))
    assert len(takes) == 2


def test_the_turn_model_keeps_the_sentence_in_one_take(sentence: Clip,
                                                       model: SmartTurnModel) -> None:
    judge = InlineJudge(model)
    takes = find_takes(sentence.samples, SileroVad(), TakeSettings(), judge=judge)
    [take] = takes
    truth = sentence.truth[0]
    assert take.start_s <= truth.start_s and abs(take.end_s - truth.end_s) < 0.25
    limit = TakeSettings().turn.limit_ms / 1000  # type: ignore[union-attr]
    assert take.closed_s - truth.end_s <= limit + 0.25
    # it was asked at the mid-sentence pause and was not sure enough to close the turn there
    threshold = TakeSettings().turn.threshold  # type: ignore[union-attr]
    assert judge.verdicts and judge.verdicts[0].probability is not None
    assert judge.verdicts[0].probability < threshold


@pytest.mark.parametrize("family", FAMILIES)
def test_balanced_keeps_phrased_sentences_whole_in_every_voice_family(
        family: str, model: SmartTurnModel) -> None:
    if family in missing_families():
        pytest.fail(f"{family} is not installed (scripts/system-deps.sh test; the test extra)")
    voice = next(v for v in ALL_VOICES if v.family == family)
    speech = phrased_sentence(("Can you recommend", "a good restaurant", "near the station?"),
                              [0.45, 0.55], voice=voice, rate=1.0, level_rms=0.05)
    clip = compose([speech], [], lead_s=1.0, tail_s=2.0)
    old = find_takes(clip.samples, SileroVad(), replace(TakeSettings(), turn=None))
    new = find_takes(clip.samples, SileroVad(), TakeSettings(), judge=InlineJudge(model))
    assert len(old) >= 2
    [take] = new
    assert take.closed_s - clip.truth[0].end_s < 0.8


def _write_wav(path: Path, samples: np.ndarray) -> None:
    data = samples.astype("<i2").tobytes()
    header = struct.pack("<4sI4s4sIHHIIHH4sI", b"RIFF", 36 + len(data), b"WAVE", b"fmt ", 16, 1,
                         1, 16000, 32000, 2, 16, b"data", len(data))
    path.write_bytes(header + data)


def test_the_takes_tool_scores_a_file_with_the_model(sentence: Clip, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "sentence.wav"
    _write_wav(path, sentence.samples)
    assert main([str(path)]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1
    assert main([str(path), "--wait-for-finish", "off"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2
    assert main([str(path), "--wait-for-finish", "patient"]) == 0
    [line] = capsys.readouterr().out.splitlines()
    assert json.loads(line)["closed_s"] > sentence.truth[0].end_s


async def _hands_free_takes(sentence: Clip, judge: TurnJudge) -> tuple[int, VoiceController]:
    capture = FileReplayCapture(sentence.samples, realtime=False, tail_silence_s=0.5)
    voice = VoiceController(capture, VoiceSettings(mode="vad"), loop=asyncio.get_running_loop(),
                            turn_judge_factory=lambda: judge)
    takes: list[bytes] = []
    ended = asyncio.Event()
    voice.on_take_finished.connect(lambda wav, ptt, streamed: takes.append(wav))
    voice.on_source_ended.connect(ended.set)
    voice.start_listening()
    await asyncio.wait_for(ended.wait(), 60)
    return len(takes), voice


async def test_hands_free_keeps_the_sentence_in_one_take(sentence: Clip) -> None:
    judge = BackgroundJudge(SmartTurnModel)
    count, voice = await _hands_free_takes(sentence, judge)
    try:
        assert count == 1
        assert voice.turn_model_failure == ""
    finally:
        voice.close()


async def test_without_the_model_hands_free_falls_back_to_the_hangover(
        sentence: Clip, tmp_path: Path) -> None:
    judge = BackgroundJudge(lambda: SmartTurnModel(tmp_path / "missing.onnx"))
    assert judge.wait_loaded(30.0)
    count, voice = await _hands_free_takes(sentence, judge)
    try:
        assert count == 2  # the plain 300 ms hangover: split at the pause, as before
        assert "not installed" in voice.turn_model_failure
    finally:
        voice.close()


async def test_hands_free_readies_the_model_when_speech_begins(sentence: Clip) -> None:
    prepared: list[int] = []

    class Watched(InlineJudge):
        def prepare(self) -> None:
            prepared.append(1)

    count, voice = await _hands_free_takes(sentence, Watched(SmartTurnModel()))
    try:
        assert count == 1
        assert len(prepared) >= 1  # each speech start says so; loading happens once
    finally:
        voice.close()

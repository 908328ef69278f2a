"""The end-of-turn model's parts: Whisper log-mel features, the weights check, the ONNX model,
and the background judge that runs it off the feeding thread (with its failure paths)."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import numpy as np
import pytest

from ravatar_live.audio.log_mel import (
    HOP,
    MEL_BANDS,
    fixed_window,
    hz_to_mel,
    log_mel,
    mel_filterbank,
    mel_to_hz,
)
from ravatar_live.audio.pcm import Int16Array
from ravatar_live.audio.resample import wav_to_wire
from ravatar_live.audio.turn_judge import BackgroundJudge, InlineJudge, Verdict
from ravatar_live.audio.turn_model import SmartTurnModel
from ravatar_live.audio.turn_weights import (
    TurnModelUnavailableError,
    default_model_path,
    verify_model_file,
)
from ravatar_live.audio.wav import read_wav

# A natural recording of a finished phrase ("Front, center"), shipped by alsa-utils, which the
# test set-up installs: espeak-ng's synthetic prosody is not what the model was trained on.
NATURAL_PHRASE = Path("/usr/share/sounds/alsa/Front_Center.wav")


# --- features ----------------------------------------------------------------------------------
def test_slaney_mel_scale_is_linear_below_1khz_and_logarithmic_above() -> None:
    assert hz_to_mel(np.array(200.0)) == pytest.approx(3.0)
    assert hz_to_mel(np.array(1000.0)) == pytest.approx(15.0)
    assert hz_to_mel(np.array(6400.0)) == pytest.approx(15.0 + 27.0)
    hz = np.linspace(0, 8000, 97)
    assert mel_to_hz(hz_to_mel(hz)) == pytest.approx(hz)


def test_filterbank_has_80_triangles_peaking_in_order() -> None:
    bank = mel_filterbank()
    assert bank.shape == (MEL_BANDS, 201)
    peaks = bank.argmax(axis=1)
    assert np.all(np.diff(peaks) >= 0) and peaks[-1] > 190
    assert np.all(bank >= 0) and np.all(bank.sum(axis=1) > 0)


def test_eight_seconds_give_80_by_800_features_in_range() -> None:
    rng = np.random.default_rng(3)
    feats = log_mel(fixed_window(rng.standard_normal(50_000) * 0.1, 8.0))
    assert feats.shape == (80, 800) and feats.dtype == np.float32
    assert feats.max() <= 1.0 + 1.0 and feats.max() - feats.min() <= 2.0 + 1e-6  # 8 decades / 4


def test_a_tone_lights_the_band_around_its_frequency() -> None:
    t = np.arange(16_000) / 16_000
    feats = log_mel(np.sin(2 * np.pi * 1000 * t))
    assert feats.shape == (80, 16_000 // HOP)
    band = int(feats[:, 50].argmax())
    centre = mel_to_hz(np.linspace(hz_to_mel(np.array(0.0)), hz_to_mel(np.array(8000.0)),
                                   82))[band + 1]
    assert 900 <= centre <= 1100


def test_the_window_keeps_the_newest_audio_and_standardises_it() -> None:
    short = fixed_window(np.ones(1000) * 0.5, 1.0)
    assert short.size == 16_000 and np.all(short[:15_000] == short[0])
    assert short.mean() == pytest.approx(0.0, abs=1e-5)
    assert short.std() == pytest.approx(1.0, abs=1e-3)
    long = fixed_window(np.concatenate([np.zeros(20_000), np.ones(16_000)]), 1.0)
    assert np.all(long == long[0])  # only the newest second (all ones) is kept


# --- the weights ---------------------------------------------------------------------------------
def test_the_installed_weights_pass_their_checksum() -> None:
    verify_model_file(default_model_path())


def test_missing_or_damaged_weights_are_refused_in_plain_words(tmp_path: Path) -> None:
    with pytest.raises(TurnModelUnavailableError, match="not installed"):
        verify_model_file(tmp_path / "none.onnx")
    damaged = tmp_path / "damaged.onnx"
    shutil.copyfile(default_model_path(), damaged)
    with damaged.open("r+b") as f:
        f.seek(1000)
        byte = f.read(1)
        f.seek(1000)
        f.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(TurnModelUnavailableError, match="damaged"):
        SmartTurnModel(damaged)


# --- the model -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def model() -> SmartTurnModel:
    return SmartTurnModel()


def natural_phrase() -> Int16Array:
    if not NATURAL_PHRASE.is_file():
        pytest.fail(f"{NATURAL_PHRASE} is missing (Debian: apt-get install alsa-utils)")
    x = wav_to_wire(read_wav(NATURAL_PHRASE))
    loud = np.flatnonzero(np.abs(x) > 300)
    return np.concatenate([x[loud[0] : loud[-1] + 1], np.zeros(3200, np.int16)])


def test_a_finished_natural_phrase_is_judged_complete(model: SmartTurnModel) -> None:
    assert model.completion_probability(natural_phrase()) > 0.7


def test_the_model_answers_a_probability_for_any_length(model: SmartTurnModel) -> None:
    for n in (400, 16_000, 200_000):  # shorter and longer than its 8 s window
        p = model.completion_probability(np.zeros(n, np.int16))
        assert 0.0 <= p <= 1.0


# --- judges ----------------------------------------------------------------------------------
def test_the_background_judge_answers_from_its_own_thread(model: SmartTurnModel) -> None:
    threads: list[str] = []

    class Watched:
        window_s = model.window_s

        def completion_probability(self, samples: Int16Array) -> float:
            threads.append(threading.current_thread().name)
            return model.completion_probability(samples)

    judge = BackgroundJudge(Watched)
    try:
        judge.ask(7, natural_phrase(), 0)
        [verdict] = judge.ready(0, wait_s=30.0)
        assert verdict.pause_id == 7 and verdict.probability is not None
        assert verdict.probability > 0.7
        assert threads and all(t.startswith("turn-model") for t in threads)
        assert judge.failure == ""
    finally:
        judge.close()


def test_a_model_that_cannot_load_answers_none_and_says_why(tmp_path: Path) -> None:
    judge = BackgroundJudge(lambda: SmartTurnModel(tmp_path / "missing.onnx"))
    try:
        assert judge.wait_loaded(30.0)
        assert "not installed" in judge.failure
        judge.ask(1, np.zeros(16_000, np.int16), 0)
        assert judge.ready(0, wait_s=30.0) == [Verdict(1, None)]
    finally:
        judge.close()


def test_a_model_that_fails_while_judging_answers_none() -> None:
    # A stand-in model that raises: no real model fails on demand.
    class Broken:
        window_s = 8.0

        def completion_probability(self, samples: Int16Array) -> float:
            raise RuntimeError("onnxruntime exploded")

    judge = InlineJudge(Broken(), latency_s=0.0)
    judge.ask(3, np.zeros(100, np.int16), 0)
    [verdict] = judge.ready(0)
    assert verdict.pause_id == 3 and verdict.probability is None


def test_the_inline_judge_releases_a_verdict_after_its_latency(model: SmartTurnModel) -> None:
    judge = InlineJudge(model, latency_s=0.1)
    judge.ask(1, natural_phrase(), at_sample=16_000)
    assert judge.ready(16_000 + 1599) == []
    assert [v.pause_id for v in judge.ready(16_000 + 1600)] == [1]


def test_the_model_loads_at_the_first_speech_not_before(tmp_path: Path) -> None:
    """Hands-free that is never spoken to does not pay for the model (~80 MB); the check finds a
    missing model at once, so Settings can say why before anyone speaks."""
    loads: list[str] = []
    checked = threading.Event()

    class Tiny:
        window_s = 8.0

        def completion_probability(self, samples: Int16Array) -> float:
            return 0.5

    def load() -> Tiny:
        loads.append(threading.current_thread().name)
        return Tiny()

    judge = BackgroundJudge(load, check=checked.set)
    try:
        assert checked.wait(30.0) and not judge._loaded.is_set()
        assert loads == [] and judge.failure == ""
        judge.prepare()
        judge.prepare()                      # a second speech start: nothing more to load
        assert judge.wait_loaded(30.0)
        assert len(loads) == 1 and loads[0].startswith("turn-model")
    finally:
        judge.close()

    missing = BackgroundJudge(load, check=lambda: SmartTurnModel.check(tmp_path / "x.onnx"))
    try:
        assert missing._loaded.wait(30.0)    # known at once, without any speech
        assert "not installed" in missing.failure
        missing.prepare()
        missing.ask(1, np.zeros(16_000, np.int16), 0)
        assert missing.ready(0, wait_s=30.0) == [Verdict(1, None)]
        assert len(loads) == 1               # never tried to load
    finally:
        missing.close()

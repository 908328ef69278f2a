"""The take-quality corpus: four voice families speak (real engines, nothing mocked), phrased
sentences get their pauses where the commas are, and pause events are labelled from the truth."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from ravatar_live.audio.settings import TakeSettings
from ravatar_live.audio.takes import frame_probabilities
from ravatar_live.audio.vad import SileroVad
from tests.support.speech_synth import compose, silence, silent_runs, stretch_pauses
from tests.support.take_quality import CorpusItem, phrased_sentence
from tests.support.turn_evidence import auc, fit_logistic, held_out_aucs, pause_events
from tests.support.voices import ALL_VOICES, FAMILIES, Voice, missing_families

RATE = 16_000
ONE_PER_FAMILY = [next(v for v in ALL_VOICES if v.family == f) for f in FAMILIES]


@pytest.fixture(scope="module", autouse=True)
def engines_installed() -> None:
    if missing := missing_families():
        pytest.fail(f"voice families not installed: {missing} (scripts/system-deps.sh test "
                    "and the test extra install them)")


@pytest.mark.parametrize("voice", ONE_PER_FAMILY, ids=lambda v: v.family)
def test_every_family_speaks_at_the_level_asked(voice: Voice) -> None:
    x = voice.speak("Thank you, that is very helpful.", level_rms=0.05).astype(np.float32)
    assert 1.0 < x.size / RATE < 4.0
    active = x[np.abs(x) > 0.004 * 32768] / 32768
    assert float(np.sqrt(np.mean(active**2))) == pytest.approx(0.05, rel=0.1)
    # trimmed to the synthesiser's first and last audible samples: no silent margins
    assert x[0] != 0 and x[-1] != 0


@pytest.mark.parametrize("voice", ONE_PER_FAMILY, ids=lambda v: v.family)
def test_rate_changes_the_speed(voice: Voice) -> None:
    slow = voice.speak("Where is the nearest train station?", rate=0.8).size
    fast = voice.speak("Where is the nearest train station?", rate=1.25).size
    assert slow > 1.2 * fast   # nominally 1.56; Piper samples its own durations


@pytest.mark.parametrize("voice", ONE_PER_FAMILY, ids=lambda v: v.family)
def test_phrased_sentences_pause_where_the_commas_are(voice: Voice) -> None:
    phrases = ("I would like a table", "for two", "tomorrow evening.")
    x = phrased_sentence(phrases, [0.3, 0.55], voice=voice, rate=1.0, level_rms=0.06)
    runs = sorted(silent_runs(x), key=lambda r: r[1] - r[0], reverse=True)[:2]
    first, second = sorted(runs)
    assert (first[1] - first[0]) / RATE == pytest.approx(0.3, abs=0.03)
    assert (second[1] - second[0]) / RATE == pytest.approx(0.55, abs=0.03)
    # "for two" lies between the pauses: shorter than either outer phrase
    assert second[0] - first[1] < first[0] and second[0] - first[1] < x.size - second[1]


def test_pauses_are_stretched_only_where_the_engine_made_clear_ones() -> None:
    tone = (np.sin(np.arange(RATE) * 0.1) * 8000).astype(np.int16)
    assert stretch_pauses(tone, [0.4]) is None                  # no pause at all
    gappy = np.concatenate([tone, silence(0.05), tone, silence(0.06), tone])
    assert stretch_pauses(gappy, [0.4]) is None                  # two alike: which one?
    clear = np.concatenate([tone, silence(0.04), tone, silence(0.15), tone])
    out = stretch_pauses(clear, [0.4])
    assert out is not None and out.size == 3 * RATE + round(0.04 * RATE) + round(0.4 * RATE)


def test_pause_events_are_labelled_from_the_truth() -> None:
    voice = ALL_VOICES[0]
    sentence = phrased_sentence(("Could you tell me", "how long the delivery takes?"), [0.5],
                                voice=voice, rate=1.0, level_rms=0.06)
    clip = compose([sentence], [], lead_s=1.0, tail_s=1.5)
    item = CorpusItem(f"phrased/{voice.label}", clip, None, voice)
    vad = SileroVad()
    probs = frame_probabilities(clip.samples, vad)
    events = pause_events([item], [probs], settings=TakeSettings())
    assert [e.kind for e in events] == ["mid", "end"]
    mid, end = events
    assert mid.silence_ms == pytest.approx(500, abs=150)
    assert abs(end.speech_end / RATE - clip.truth[0].end_s) < 0.25
    # the model is shown the take so far with the pause heard so far, nothing after it
    assert mid.audio().size == mid.judged_at - mid.start
    assert mid.speech_end < mid.judged_at < mid.speech_end + 0.5 * RATE
    plain = replace(item, name=voice.label)   # a pause between two sentences, not inside one
    assert [e.kind for e in pause_events([plain], [probs], settings=TakeSettings())] \
        == ["join", "end"]


def test_auc_and_held_out_logistic_combination() -> None:
    assert auc([0.9, 0.8, 0.7], [True, True, False]) == 1.0
    assert auc([0.5, 0.5], [True, False]) == 0.5
    rng = np.random.default_rng(4)
    y = rng.random(400) < 0.5
    groups = ["a"] * 200 + ["b"] * 200
    # feature 0 separates in both groups; feature 1 separates with opposite signs by group
    x = np.c_[y + rng.normal(0, 0.5, 400),
              np.where(np.array(groups) == "a", 1, -1) * (y + rng.normal(0, 0.5, 400))]
    model = fit_logistic(x[:, :1], y)
    assert auc(model.predict(x[:, :1]), y) > 0.8 and model.weights[1] > 0
    quirk = held_out_aucs(x[:, 1:], y, groups)
    assert quirk["a"].within > 0.8 and quirk["a"].held_out < 0.2   # a family's quirk inverts

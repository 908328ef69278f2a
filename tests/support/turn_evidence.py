"""What is known at a pause, and how well it tells a finished sentence from an unfinished one.

``pause_events`` runs the app's take logic (Silero probabilities replayed) over the corpus and
collects every pause the end-of-turn model would be asked about, labelled from the ground truth:

- ``end``: the pause after the end of an utterance (the turn is over);
- ``mid``: a pause inside a phrased sentence ("I would like a table, [pause] for two");
- ``join``: the short pause between two sentences that the plain corpus counts as one take.

Each event carries the audio the model is shown and the prosody just before the pause. Scores
are ROC AUC of ends against mid-sentence pauses (0.5 = chance), within one voice family and
held out: a logistic combination fitted on the other families and scored on this one.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import numpy.typing as npt

from ravatar_live.audio.pcm import SAMPLE_RATE, Int16Array
from ravatar_live.audio.settings import TakeSettings, TurnSettings
from ravatar_live.audio.takes import JudgeTurn, TakeDetector
from tests.support.prosody import PauseProsody, pause_prosody
from tests.support.take_quality import CorpusItem

PauseKind = Literal["end", "mid", "join"]
_NEAR_END_S = 0.25   # a pause this close to an utterance's true end is its end
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class PauseEvent:
    item: CorpusItem
    kind: PauseKind
    start: int          # the take's first sample
    speech_end: int     # where the VAD's speech stopped (the pause begins)
    judged_at: int      # where the model is asked (speech_end + the judge delay)
    silence_ms: float   # how long the pause lasted (inf: the clip ended silent)

    @property
    def family(self) -> str:
        assert self.item.voice is not None
        return self.item.voice.family

    def audio(self, after_speech_ms: float | None = None) -> Int16Array:
        """What the model is shown: the take so far, with the pause heard so far (or
        ``after_speech_ms`` of it)."""
        end = self.judged_at if after_speech_ms is None else \
            self.speech_end + round(after_speech_ms * SAMPLE_RATE / 1000)
        return self.item.clip.samples[self.start : end]

    def prosody(self) -> PauseProsody:
        first = max(self.start, self.speech_end - 8 * SAMPLE_RATE)
        return pause_prosody(self.item.clip.samples[first : self.speech_end],
                             self.speech_end - first)


def pause_events(corpus: Sequence[CorpusItem], silero_probs: Sequence[Sequence[float]], *,
                 settings: TakeSettings, frame_samples: int = 512) -> list[PauseEvent]:
    """Every pause the take logic would have judged under ``settings.turn`` (its judge delay),
    with the take kept open through every pause of up to 1 s so that all pauses are seen."""
    turn = settings.turn
    assert turn is not None
    probe = replace(settings, turn=TurnSettings(judge_after_ms=turn.judge_after_ms,
                                                complete_ms=1000, limit_ms=1000))
    judge_samples = math.ceil(turn.judge_after_ms * SAMPLE_RATE / 1000 / frame_samples) \
        * frame_samples
    events: list[PauseEvent] = []
    for item, probs in zip(corpus, silero_probs, strict=True):
        if item.voice is None:
            continue
        detector = TakeDetector(probe, frame_samples)
        for event in (e for p in probs for e in detector.update(p)):
            if not isinstance(event, JudgeTurn):
                continue
            detector.judge(event.pause_id, 0.0)   # "not finished": keep the take open
            speech_end = event.end_sample - judge_samples
            kind = _label(item, speech_end / SAMPLE_RATE)
            if kind is not None:
                events.append(PauseEvent(item, kind, event.start_sample, speech_end,
                                         event.end_sample,
                                         _silence_ms(probs, speech_end, frame_samples,
                                                     settings.threshold)))
    return events


def _label(item: CorpusItem, t: float) -> PauseKind | None:
    for u in item.clip.truth:
        if abs(t - u.end_s) <= _NEAR_END_S:
            return "end"
        if u.start_s < t and u.end_s - t > _NEAR_END_S:
            return "mid" if item.name.startswith("phrased/") else "join"
    return None


def _silence_ms(probs: Sequence[float], speech_end: int, frame: int, threshold: float) -> float:
    later = np.flatnonzero(np.asarray(probs[speech_end // frame :]) >= threshold)
    return float(later[0] * frame / SAMPLE_RATE * 1000) if later.size else math.inf


def auc(scores: npt.ArrayLike, positive: npt.ArrayLike) -> float:
    """ROC AUC: the chance that a random positive outscores a random negative (ties half)."""
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(positive, dtype=bool)
    pos, neg = s[y], s[~y]
    if not pos.size or not neg.size:
        return math.nan
    return float(np.mean(pos[:, None] > neg[None, :]) + 0.5 * np.mean(pos[:, None] == neg[None, :]))


@dataclass(frozen=True, slots=True)
class Logistic:
    """Standardised features -> P(positive), L2-regularised, fitted by Newton's method."""

    mean: FloatArray
    scale: FloatArray
    weights: FloatArray   # bias first

    def predict(self, x: FloatArray) -> FloatArray:
        z = np.c_[np.ones(len(x)), (x - self.mean) / self.scale] @ self.weights
        return 1.0 / (1.0 + np.exp(-z))


def fit_logistic(x: FloatArray, y: npt.ArrayLike, *, l2: float = 1.0) -> Logistic:
    target = np.asarray(y, dtype=np.float64)
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-9
    z = np.c_[np.ones(len(x)), (x - mean) / scale]
    w = np.zeros(z.shape[1])
    penalty = l2 * np.diag(np.r_[0.0, np.ones(z.shape[1] - 1)])
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-z @ w))
        gradient = z.T @ (p - target) + penalty @ w
        hessian = (z * (p * (1 - p))[:, None]).T @ z + penalty
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return Logistic(mean, scale, w)


def logit(p: npt.ArrayLike) -> FloatArray:
    q = np.clip(np.asarray(p, dtype=np.float64), 1e-4, 1 - 1e-4)
    return np.log(q / (1 - q))


@dataclass(frozen=True, slots=True)
class GroupAuc:
    within: float     # fitted and scored on this group (optimistic)
    held_out: float   # fitted on the other groups, scored on this one


def held_out_aucs(x: FloatArray, positive: npt.ArrayLike,
                  groups: Sequence[str]) -> dict[str, GroupAuc]:
    """Per group: the AUC of a logistic combination fitted within it and fitted without it."""
    y = np.asarray(positive, dtype=bool)
    g = np.asarray(groups)
    out: dict[str, GroupAuc] = {}
    for name in dict.fromkeys(groups):
        inside = g == name
        within = fit_logistic(x[inside], y[inside]).predict(x[inside])
        held = fit_logistic(x[~inside], y[~inside]).predict(x[inside])
        out[name] = GroupAuc(auc(within, y[inside]), auc(held, y[inside]))
    return out


def evidence_matrix(events: Sequence[PauseEvent],
                    model_probability: Callable[[Int16Array], float]) -> FloatArray:
    """One row per event: the model's logit, then the prosody features."""
    return np.array([np.r_[logit(model_probability(e.audio())), e.prosody().as_array()]
                     for e in events])

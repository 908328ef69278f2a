"""Take quality against ground truth, and the generated corpus the bench and tests score on.

Scoring, per clip: a take *overlaps* a true utterance when their spans intersect.
- found: utterances overlapped by at least one take; missed: by none;
- split: extra takes on one utterance (an utterance cut in two counts 1);
- merged: extra utterances inside one take (two utterances in one take counts 1);
- false: takes that overlap no utterance (noise, clicks).
End-of-speech delay = ``closed_s`` of the utterance's last take minus the utterance's true end,
for utterances matched one-to-one (a merged take's delay says nothing about the detector).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from ravatar_live.audio.pcm import Int16Array
from ravatar_live.audio.takes import Take
from tests.support.speech_synth import (
    Clip,
    compose,
    join_with_pause,
    mix_noise,
    silence,
    stretch_pauses,
)
from tests.support.voices import ALL_VOICES, Voice

PHRASES = (
    "Hello, could you tell me about your opening hours?",
    "I would like to book a table for two, tomorrow evening.",
    "What is the weather going to be like this weekend?",
    "Thank you, that is very helpful.",
    "Can you recommend a good book about history?",
    "My name is Alex, and I am calling about my order.",
    "Please repeat that more slowly.",
    "How much does the premium plan cost per month?",
    "I think there is a mistake on my invoice.",
    "Tell me a joke.",
    "Where is the nearest train station?",
    "Yes.",
)
# Sentences spoken as two or three phrases with a pause between them ("I'd like a table ...
# for two ... tomorrow evening"): each is one turn, and must be one take.
PHRASED_SENTENCES = (
    ("I would like a table", "for two", "tomorrow evening."),
    ("My name is Alex", "and I am calling about", "my last order."),
    ("Could you tell me", "how long the delivery takes?"),
    ("I was wondering", "if you have", "anything cheaper."),
    ("The thing is", "my flight was cancelled this morning."),
    ("Can you recommend", "a good restaurant", "near the station?"),
    ("I need to change", "the address on my account."),
    ("What I would like to know is", "whether the offer", "is still valid."),
    ("Before we start", "could you", "check my booking?"),
    ("I think", "the second option", "works better for me."),
    ("We are looking for", "a quiet room with a view."),
    ("Tell me more about", "the premium plan please."),
)
PHRASE_PAUSE_S = (0.25, 0.6)
RATES = (0.8, 1.0, 1.25)   # times each voice's normal speed


@dataclass
class Score:
    utterances: int = 0
    found: int = 0
    missed: int = 0
    split: int = 0
    merged: int = 0
    false: int = 0
    delays_s: list[float] = field(default_factory=list)

    @property
    def errors(self) -> int:
        return self.missed + self.split + self.merged + self.false

    def add(self, other: Score) -> None:
        for name in ("utterances", "found", "missed", "split", "merged", "false"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.delays_s.extend(other.delays_s)

    def delay_percentile(self, q: float) -> float:
        return float(np.percentile(self.delays_s, q)) if self.delays_s else float("nan")


def score_takes(takes: Sequence[Take], clip: Clip) -> Score:
    truth = clip.truth
    hits = [[i for i, u in enumerate(truth) if t.start_s < u.end_s and t.end_s > u.start_s]
            for t in takes]
    score = Score(utterances=len(truth))
    per_utt: list[list[int]] = [[] for _ in truth]
    for ti, us in enumerate(hits):
        if not us:
            score.false += 1
        score.merged += max(0, len(us) - 1)
        for u in us:
            per_utt[u].append(ti)
    for ui, ts in enumerate(per_utt):
        if not ts:
            score.missed += 1
            continue
        score.found += 1
        score.split += len(ts) - 1
        if all(len(hits[ti]) == 1 for ti in ts):
            score.delays_s.append(takes[ts[-1]].closed_s - truth[ui].end_s)
    return score


@dataclass(frozen=True, slots=True)
class CorpusItem:
    name: str
    clip: Clip
    snr_db: float | None  # None = clean
    voice: Voice | None = None  # None: noise or silence only


def phrased_sentence(phrases: Sequence[str], pauses_s: Sequence[float], *, voice: Voice,
                     rate: float, level_rms: float) -> Int16Array:
    """One sentence spoken phrase by phrase. The voice speaks it whole, commas between the
    phrases, and the pause it makes at each comma is stretched to ``pauses_s``: the prosody
    before each pause is the engine's own for a phrase boundary inside a sentence. When the
    engine makes no clear pause at a comma, each phrase is spoken on its own (ending on a
    comma) and the pauses are put between them."""
    text = ", ".join(phrases)
    whole = stretch_pauses(voice.speak(text, rate=rate, level_rms=level_rms), list(pauses_s))
    if whole is not None:
        return whole
    parts = [voice.speak(p if i == len(phrases) - 1 else f"{p},", rate=rate, level_rms=level_rms)
             for i, p in enumerate(phrases)]
    out: list[Int16Array] = []
    for part, pause in itertools.zip_longest(parts, pauses_s):
        out.append(part)
        if pause is not None:
            out.append(silence(pause))
    return np.concatenate(out)


def _item(kind: str, voice: Voice, rate: float, snr: float | None, clip: Clip) -> CorpusItem:
    snr_name = "clean" if snr is None else f"{snr:g}dB"
    return CorpusItem(f"{kind}{voice.label}@{rate:g}/{snr_name}", clip, snr, voice)


def build_phrased_corpus(*, voices: Iterable[Voice] = ALL_VOICES, rates: Iterable[float] = RATES,
                         snrs: Sequence[float | None] = (None, 20.0, 10.0, 5.0),
                         sentences_per_clip: int = 3, seed: int = 11) -> list[CorpusItem]:
    """Clips of phrased sentences (pauses of 250-600 ms inside each), 2-3 s apart, at every
    SNR: the mid-sentence pauses a turn detector must sit through."""
    rng = np.random.default_rng(seed)
    sentences = itertools.cycle(PHRASED_SENTENCES)
    base: list[tuple[Voice, float, Clip]] = []
    for voice, rate in itertools.product(voices, rates):
        utts = []
        for _ in range(sentences_per_clip):
            phrases = next(sentences)
            pauses = [float(rng.uniform(*PHRASE_PAUSE_S)) for _ in phrases[1:]]
            utts.append(phrased_sentence(phrases, pauses, voice=voice, rate=rate,
                                         level_rms=float(rng.uniform(0.03, 0.1))))
        gaps = [float(rng.uniform(2.0, 3.0)) for _ in range(len(utts) - 1)]
        base.append((voice, rate, compose(utts, gaps)))
    return [_item("phrased/", voice, rate, snr, clip if snr is None else mix_noise(clip, snr, rng))
            for snr in snrs for voice, rate, clip in base]


def build_corpus(*, voices: Iterable[Voice] = ALL_VOICES, rates: Iterable[float] = RATES,
                 snrs: Sequence[float | None] = (None, 20.0, 10.0, 5.0),
                 utterances_per_clip: int = 3, noise_only_s: float = 8.0,
                 seed: int = 7) -> list[CorpusItem]:
    """Clips of several utterances (one with a hesitation pause inside), gaps of 1.2-2.5 s,
    each at every SNR; plus noise-only and silence-only clips that must yield no take."""
    rng = np.random.default_rng(seed)
    phrases = itertools.cycle(PHRASES)
    base: list[tuple[Voice, float, Clip]] = []
    for voice, rate in itertools.product(voices, rates):
        utts = []
        for k in range(utterances_per_clip):
            level = float(rng.uniform(0.03, 0.1))
            if k == 1:  # "I would like ... [pause] ... please": one take, not two
                parts = [voice.speak(next(phrases), rate=rate, level_rms=level),
                         voice.speak(next(phrases), rate=rate, level_rms=level)]
                utts.append(join_with_pause(parts, float(rng.uniform(0.2, 0.3))))
            else:
                utts.append(voice.speak(next(phrases), rate=rate, level_rms=level))
        gaps = [float(rng.uniform(1.2, 2.5)) for _ in range(len(utts) - 1)]
        base.append((voice, rate, compose(utts, gaps)))
    items = [_item("", voice, rate, snr, clip if snr is None else mix_noise(clip, snr, rng))
             for snr in snrs for voice, rate, clip in base]
    empty = Clip(silence(noise_only_s), ())
    items.append(CorpusItem("silence-only", empty, None))
    for snr in snrs:
        if snr is not None:
            # noise at the level it has in the SNR clips (speech level 0.06 as reference)
            noise = mix_noise(Clip(silence(noise_only_s), ()), 0.0, rng)
            scale = 0.06 / (10 ** (snr / 20)) / 0.05
            samples = np.clip(noise.samples.astype(np.float32) * scale, -32768, 32767)
            items.append(CorpusItem(f"noise-only/{snr:g}dB",
                                    Clip(samples.astype(np.int16), ()), snr))
    return items

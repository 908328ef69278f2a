"""Take quality on a generated corpus of four voice families: the web demo's RMS gate, Silero with
a plain hangover, round one's end-of-turn detector and today's presets, in one table per voice
family and overall, from one run; then what the evidence at a pause is worth, held out.

Corpus (tests/support/take_quality.py, voices.py): espeak-ng, flite, Festival and Piper voices
at three speeds, clean and with pink noise at 20/10/5 dB SNR: clips of three utterances (one
with a short hesitation inside), clips of three sentences spoken as two or three phrases with
250-600 ms pauses, plus silence-only and noise-only clips. Columns: utterances found / missed /
split / merged, false takes (noise = those on noise-only and silence clips), end-of-turn delay
(take closed minus the true end of speech) P50/P95, CPU per 32 ms frame (VAD, plus the model's
CPU spread over all frames).

The model's verdicts reach the take logic as late as its measured P95 judgement time (CPU time,
so that other work on the machine does not move the figures) after the pause was noticed, as on
a live stream. Silero probabilities are computed once per clip; each
row then runs the same ``find_takes`` path the app and ``ravatar-live-takes`` run.

Held out: the balanced preset's completion threshold (how sure the model must be to close a
turn fast) is picked on three families - the lowest P50 with at most 2 % of sentences split -
and scored on the fourth. The evidence section scores the model and the prosody before each
pause (tests/support/prosody.py) as ROC AUC of sentence ends against mid-sentence pauses, within
each family and held out (a logistic combination fitted on the other three families).
``--judge-variants`` also scores what the model is shown (silence after the speech, audio
before it) and a second look later in the pause; ``--sweep`` sweeps the plain take settings.
"""

from __future__ import annotations

import argparse
import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from ravatar_live.audio.pcm import Int16Array
from ravatar_live.audio.settings import (
    DEFAULT_TURN_PATIENCE,
    RMS_BASELINE_TAKES,
    TURN_PRESETS,
    TakeSettings,
    TurnSettings,
)
from ravatar_live.audio.takes import ReplayVad, find_takes, frame_probabilities
from ravatar_live.audio.turn_judge import InlineJudge
from ravatar_live.audio.turn_model import SmartTurnModel
from ravatar_live.audio.vad import RmsGate, SileroVad, Vad, WebRtcVad
from tests.support.prosody import FEATURE_NAMES
from tests.support.take_quality import (
    RATES,
    CorpusItem,
    Score,
    build_corpus,
    build_phrased_corpus,
    score_takes,
)
from tests.support.turn_evidence import (
    PauseEvent,
    auc,
    evidence_matrix,
    held_out_aucs,
    pause_events,
)
from tests.support.voices import ALL_VOICES, FAMILIES, missing_families

FRAME_S = 0.032
# Round one's balanced detector, for comparison: closes 300 ms after a pause the model calls
# complete at its own decision point (0.5), waits 1.2 s otherwise.
ROUND_ONE = TurnSettings(judge_after_ms=128, complete_ms=300, limit_ms=1200, threshold=0.5)
# Completion thresholds the held-out pick chooses from (0.999: the model practically never
# closes a turn fast; the limit does).
THRESHOLDS = (0.5, 0.7, 0.8, 0.9, 0.95, 0.96, 0.97, 0.98, 0.99, 0.999)
MAX_SPLIT_SHARE = 0.02


class CachedModel:
    """The real model, each distinct audio judged once per run (rows share judgements), with
    its CPU time and wall time counted."""

    def __init__(self, model: SmartTurnModel) -> None:
        self.window_s = model.window_s
        self._model = model
        self._cache: dict[bytes, tuple[float, float]] = {}
        self.calls = 0        # judgements the take logic asked for (cached or not)
        self.cpu_s = 0.0      # CPU of those judgements (a cached one counts its first cost)
        self.wall_s: list[float] = []

    def completion_probability(self, samples: Int16Array) -> float:
        key = hashlib.sha1(samples.tobytes()).digest()
        if key not in self._cache:
            t, w = time.process_time(), time.perf_counter()
            p = self._model.completion_probability(samples)
            self.wall_s.append(time.perf_counter() - w)
            self._cache[key] = (p, time.process_time() - t)
        p, cpu = self._cache[key]
        self.calls += 1
        self.cpu_s += cpu
        return p

    def reset_counts(self) -> None:
        self.calls, self.cpu_s = 0, 0.0


@dataclass
class Run:
    """One detector over the corpus: a score per clip."""

    label: str
    scores: list[Score]
    cpu_us: float
    note: str = ""

    def total(self, keep: Callable[[CorpusItem], bool], corpus: Sequence[CorpusItem]) -> Score:
        out = Score()
        for score, item in zip(self.scores, corpus, strict=True):
            if keep(item):
                out.add(score)
        return out


class Bench:
    def __init__(self, corpus: list[CorpusItem], model: CachedModel, latency_s: float) -> None:
        self.corpus = corpus
        self.model = model
        self.latency_s = latency_s
        self.silero = SileroVad()
        self.silero_probs, self.silero_cpu = vad_cpu_per_frame(self.silero, corpus)
        self.frames = sum(len(p) for p in self.silero_probs)

    def run(self, label: str, settings: TakeSettings, *, vad: Vad | None = None,
            probs: list[list[float]] | None = None, cpu_us: float | None = None) -> Run:
        vad = vad or self.silero
        probs = probs or self.silero_probs
        self.model.reset_counts()
        scores = []
        for p, item in zip(probs, self.corpus, strict=True):
            judge = InlineJudge(self.model, latency_s=self.latency_s) \
                if settings.turn is not None else None
            takes = find_takes(item.clip.samples, ReplayVad(p, vad.frame_samples), settings,
                               judge=judge)
            scores.append(score_takes(takes, item.clip))
        cpu = self.silero_cpu if cpu_us is None else cpu_us
        note = ""
        if settings.turn is not None:
            cpu += self.model.cpu_s / self.frames * 1e6
            note = (f"  ({self.model.calls} judgements, "
                    f"{self.model.cpu_s / max(self.model.calls, 1) * 1000:.0f} ms CPU each)")
        return Run(label, scores, cpu, note)


HEADER = (f"{'detector':<40} {'found':>5} {'missed':>6} {'split':>5} {'merged':>6} {'false':>5} "
          f"{'noise':>5} {'P50 ms':>7} {'P95 ms':>7} {'CPU/frame':>10}")


def row(label: str, s: Score, noise: int | None, cpu_us: float) -> str:
    p50, p95 = s.delay_percentile(50) * 1000, s.delay_percentile(95) * 1000
    noise_text = "-" if noise is None else str(noise)
    return (f"{label:<40} {s.found:>5} {s.missed:>6} {s.split:>5} {s.merged:>6} {s.false:>5} "
            f"{noise_text:>5} {p50:>7.0f} {p95:>7.0f} {cpu_us:>8.0f}us")


def family_of(item: CorpusItem) -> str | None:
    return item.voice.family if item.voice is not None else None


def print_tables(runs: list[Run], corpus: list[CorpusItem], families: Sequence[str]) -> None:
    def noise_only(item: CorpusItem) -> bool:
        return item.voice is None

    def of_family(family: str) -> Callable[[CorpusItem], bool]:
        return lambda item: family_of(item) == family

    groups = [("all voices", lambda item: True), *((f, of_family(f)) for f in families)]
    for title, keep in groups:
        utts = sum(len(i.clip.truth) for i in corpus if keep(i))
        print(f"\n{title} ({utts} utterances):")
        print(HEADER)
        for r in runs:
            noise = r.total(noise_only, corpus).false if title == "all voices" else None
            print(row(r.label, r.total(keep, corpus), noise, r.cpu_us)
                  + (r.note if title == "all voices" else ""))


def split_share(s: Score) -> float:
    return s.split / max(s.utterances, 1)


def pick_threshold(bench: Bench, keep: Callable[[CorpusItem], bool],
                   runs: dict[float, Run]) -> float:
    """The threshold with the lowest P50 (then P95) among those splitting at most 2 % of the
    sentences on the clips ``keep`` selects; the most cautious one when none does."""
    scored = [(t, runs[t].total(keep, bench.corpus)) for t in THRESHOLDS]
    ok = [(t, s) for t, s in scored if split_share(s) <= MAX_SPLIT_SHARE]
    if not ok:
        return THRESHOLDS[-1]
    return min(ok, key=lambda ts: (ts[1].delay_percentile(50), ts[1].delay_percentile(95)))[0]


def others(family: str) -> Callable[[CorpusItem], bool]:
    """Clips of voices of any other family."""
    return lambda item: family_of(item) not in (family, None)


def held_out_run(bench: Bench, base: TakeSettings, families: Sequence[str]) -> tuple[Run, str]:
    """Balanced with its threshold picked on the other families, per family."""
    assert base.turn is not None
    runs = {t: bench.run(f"t={t}", replace(base, turn=replace(base.turn, threshold=t)))
            for t in THRESHOLDS}
    scores = list(runs[base.turn.threshold].scores)   # noise-only clips: the shipped setting
    picks = []
    for f in families:
        t = pick_threshold(bench, others(f), runs)
        picks.append(f"{f} {t:g}")
        for k, item in enumerate(bench.corpus):
            if family_of(item) == f:
                scores[k] = runs[t].scores[k]
    all_pick = pick_threshold(bench, lambda i: i.voice is not None, runs)
    label = "balanced, threshold held out"
    voiced = [(t, runs[t].total(lambda i: i.voice is not None, bench.corpus)) for t in THRESHOLDS]
    trade = "; ".join(f"{t:g}: {s.split}, {s.delay_percentile(50) * 1000:.0f}/"
                      f"{s.delay_percentile(95) * 1000:.0f}" for t, s in voiced)
    note = (f"thresholds picked without the family: {', '.join(picks)}; on all four: "
            f"{all_pick:g} (shipped: {base.turn.threshold:g}).\nbalanced by threshold "
            f"(split, P50/P95 ms): {trade}")
    return Run(label, scores, runs[base.turn.threshold].cpu_us), note


def evidence_report(events: list[PauseEvent], model: CachedModel,
                    families: Sequence[str]) -> None:
    judged = [e for e in events if e.kind in ("end", "mid")]
    x = evidence_matrix(judged, model.completion_probability)
    is_end = np.array([e.kind == "end" for e in judged])
    fam = [e.family for e in judged]
    names = ["model", *FEATURE_NAMES]
    print("\nevidence at the pause: ROC AUC of sentence ends vs pauses inside sentences "
          "(0.5 = chance; below 0.5 = the cue points the wrong way)")
    print(f"  {'family':<10} {'ends':>5} {'mids':>5} " + " ".join(f"{n:>13}" for n in names))
    for f in families:
        m = np.array([g == f for g in fam])
        cells = " ".join(f"{auc(x[m, k], is_end[m]):>13.2f}" for k in range(len(names)))
        print(f"  {f:<10} {int(is_end[m].sum()):>5} {int((~is_end[m]).sum()):>5} {cells}")
    p = 1 / (1 + np.exp(-x[:, 0]))
    print("  the model's verdicts: share of sentence ends / mid-sentence pauses called complete "
          "at p >= 0.5, 0.9, 0.95; the highest p it gave")
    for f in families:
        m = np.array([g == f for g in fam])
        ends, mids = p[m & is_end], p[m & ~is_end]
        cells = "; ".join(f">= {t:g}: {np.mean(ends >= t):.0%} / {np.mean(mids >= t):.0%}"
                          for t in (0.5, 0.9, 0.95))
        print(f"    {f:<10} {cells}; highest {p[m].max():.3f}")
    print("  logistic combinations, AUC within the family / held out (fitted on the others):")
    for label, cols in (("model alone", [0]), ("prosody alone", list(range(1, len(names)))),
                        ("model + prosody", list(range(len(names))))):
        res = held_out_aucs(x[:, cols], is_end, fam)
        cells = "; ".join(f"{f} {res[f].within:.2f} / {res[f].held_out:.2f}" for f in families
                          if f in res)
        print(f"    {label:<16} {cells}")


def judge_variants(events: list[PauseEvent], model: CachedModel,
                   families: Sequence[str]) -> None:
    """What the model is shown, and a second look later in the pause."""
    print("\nwhat the judge sees (model AUC ends vs mid-sentence pauses, per family):")
    for after_ms, min_silence in ((0, 0), (128, 0), (300, 332), (400, 432)):
        usable = [e for e in events if e.kind in ("end", "mid") and e.silence_ms >= min_silence]
        p = np.array([model.completion_probability(e.audio(after_ms)) for e in usable])
        is_end = np.array([e.kind == "end" for e in usable])
        cells = "; ".join(
            f"{f} {auc(p[m], is_end[m]):.2f}" for f in families
            if (m := np.array([e.family == f for e in usable])).any())
        mids = int((~is_end).sum())
        print(f"  {after_ms:>3} ms of the pause shown ({mids} mid-sentence pauses still "
              f"silent then): {cells}")


def vad_cpu_per_frame(vad: Vad, corpus: list[CorpusItem]) -> tuple[list[list[float]], float]:
    """Every clip's probabilities, and the VAD's CPU in microseconds per 32 ms of audio."""
    probs, cpu, frames = [], 0.0, 0
    for item in corpus:
        vad.reset()
        t = time.process_time()
        probs.append(frame_probabilities(item.clip.samples, vad))
        cpu += time.process_time() - t
        frames += len(probs[-1])
    return probs, cpu / frames * (FRAME_S / (vad.frame_samples / 16000)) * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true",
                    help="a smaller corpus (one voice per family, two speeds)")
    ap.add_argument("--judge-variants", action="store_true",
                    help="also score what the model is shown and a later second look")
    ap.add_argument("--sweep", action="store_true", help="also sweep the plain take settings")
    args = ap.parse_args()
    t0 = time.perf_counter()
    missing = missing_families()
    if missing:
        print(f"WARNING: voice families not installed, left out: {', '.join(missing)} "
              "(scripts/system-deps.sh test; the test extra)")
    families = [f for f in FAMILIES if f not in missing]
    voices = [v for v in ALL_VOICES if v.family in families]
    rates: tuple[float, ...] = RATES
    if args.quick:
        voices = [next(v for v in voices if v.family == f) for f in families]
        rates = (0.8, 1.25)
    corpus = build_corpus(voices=voices, rates=rates) + build_phrased_corpus(
        voices=voices, rates=rates)
    audio_s = sum(item.clip.duration_s for item in corpus)
    utts = sum(len(item.clip.truth) for item in corpus)
    phrased = sum(len(i.clip.truth) for i in corpus if i.name.startswith("phrased/"))
    print(f"corpus: {len(corpus)} clips, {audio_s:.0f} s of audio, {utts} utterances "
          f"({phrased} of them phrased with 250-600 ms pauses), {len(voices)} voices in "
          f"{len(families)} families x {len(rates)} speeds; built in "
          f"{time.perf_counter() - t0:.0f} s")

    model = CachedModel(SmartTurnModel())
    cpu = []
    for item in corpus[:12]:  # calibration: how long a judgement takes on this machine
        before = model.cpu_s
        model.completion_probability(item.clip.samples[: 16000 * 4])
        cpu.append(model.cpu_s - before)
    # The CPU a judgement needs (one thread), not the wall time: on a machine shared with
    # other work the wall time measures the others too, and the table would follow the load.
    latency = float(np.percentile(cpu, 95))
    print(f"end-of-turn model: {np.median(cpu) * 1000:.0f} ms CPU per judgement (P50), "
          f"{latency * 1000:.0f} ms (P95; wall time here {np.median(model.wall_s) * 1000:.0f} / "
          f"{np.percentile(model.wall_s, 95) * 1000:.0f} ms): verdicts applied "
          f"{latency * 1000:.0f} ms after the pause was noticed")
    bench = Bench(corpus, model, latency)
    rms = RmsGate()
    rms_probs, rms_cpu = vad_cpu_per_frame(rms, corpus)

    base = TakeSettings()
    assert base.turn is not None
    runs = [bench.run("rms gate (web demo: 0.02, 900 ms)", RMS_BASELINE_TAKES, vad=rms,
                      probs=rms_probs, cpu_us=rms_cpu)]
    runs += [bench.run(f"silero, {hang} ms hangover", replace(base, turn=None, hangover_ms=hang))
             for hang in (300, 500, 800)]
    runs.append(bench.run("round one: model p>=0.5, 300/1200 ms", replace(base, turn=ROUND_ONE)))
    for name, turn in TURN_PRESETS.items():
        star = " *" if name == DEFAULT_TURN_PATIENCE else ""
        runs.append(bench.run(f"{name}: p>={turn.threshold:g}, {turn.complete_ms}/"
                              f"{turn.limit_ms} ms{star}", replace(base, turn=turn)))
    held, held_note = held_out_run(bench, base, families)
    runs.append(held)
    print_tables(runs, corpus, families)
    print("\n* the default. found/missed/split/merged count utterances; false = takes on no "
          "speech, noise = those on noise-only and silence clips; CPU/frame = per 32 ms of "
          "audio. p>=t: the completion probability that closes a turn after the first number "
          "of ms of silence; otherwise the second number ends it.")
    print(f"held out: {held_note}")

    events = pause_events(corpus, bench.silero_probs, settings=base)
    evidence_report(events, model, families)
    if args.judge_variants:
        judge_variants(events, model, families)
    if args.sweep:
        sweep(corpus, bench.silero_probs)
    print(f"\ntotal bench time {time.perf_counter() - t0:.0f} s")


def sweep(corpus: list[CorpusItem], silero_probs: list[list[float]]) -> None:
    """The plain take settings by VAD backend (no turn model): how the defaults were picked,
    and what a pause length alone costs."""
    backends: dict[str, Vad] = {"silero": SileroVad(), "webrtc-2": WebRtcVad(2),
                                "webrtc-3": WebRtcVad(3)}
    probs = {"silero": silero_probs}
    for name in ("webrtc-2", "webrtc-3"):
        probs[name] = vad_cpu_per_frame(backends[name], corpus)[0]
    default = replace(TakeSettings(), turn=None)

    def evaluate(name: str, st: TakeSettings) -> Score:
        total = Score()
        for p, item in zip(probs[name], corpus, strict=True):
            vad = ReplayVad(p, backends[name].frame_samples)
            total.add(score_takes(find_takes(item.clip.samples, vad, st), item.clip))
        return total

    print("\nsilero, the pause length alone (hangover ms: split, P50/P95 ms):")
    cells = []
    for hang in range(448, 705, 32):
        sc = evaluate("silero", replace(default, hangover_ms=hang))
        cells.append(f"{hang}: {sc.split}, {sc.delay_percentile(50) * 1000:.0f}/"
                     f"{sc.delay_percentile(95) * 1000:.0f}")
    print("  " + "; ".join(cells))
    print("plain take settings (no turn model), best four per backend:")
    for name in backends:
        results = []
        for thr in ((0.3, 0.4, 0.5, 0.6, 0.7) if name == "silero" else (0.5,)):
            for hang in (200, 300, 400, 500, 700):
                for min_ms in (150, 250):
                    st = replace(default, threshold=thr, hangover_ms=hang, min_speech_ms=min_ms,
                                 release_delta=min(default.release_delta, thr / 2))
                    results.append((f"{name} thr={thr} hang={hang} min={min_ms}",
                                    evaluate(name, st)))
        results.sort(key=lambda r: (r[1].errors, r[1].delay_percentile(50)))
        for label, sc in results[:4]:
            print(f"  {label:<34} errors {sc.errors:>3}  P50 "
                  f"{sc.delay_percentile(50) * 1000:.0f} ms  P95 "
                  f"{sc.delay_percentile(95) * 1000:.0f} ms")


if __name__ == "__main__":
    main()

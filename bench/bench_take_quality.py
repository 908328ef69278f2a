"""Take quality on a generated corpus: the web demo's RMS gate, Silero with a plain hangover, and
Silero with the end-of-turn model (quick / balanced / patient), in one table from one run.

Corpus (tests/support/take_quality.py): espeak-ng voices x speeds, clean and with pink noise at
20/10/5 dB SNR: clips of three utterances (one with a short hesitation inside), clips of three
sentences spoken as two or three phrases with 250-600 ms pauses, plus silence-only and
noise-only clips. Columns: utterances found / missed / split / merged, false takes (and those on
noise-only clips), end-of-turn delay (take closed minus the true end of speech) P50/P95, CPU per
32 ms frame (VAD, plus the model's CPU spread over all frames).

The model's verdicts reach the take logic as late as its measured P95 judgement time after the
pause was noticed, as on a live stream. Silero probabilities are computed once per clip; each
row then runs the same ``find_takes`` path the app and ``ravatar-live-takes`` run.
``--sweep`` also sweeps the plain take settings (threshold, hangover, minimum speech).
"""

from __future__ import annotations

import argparse
import hashlib
import time
from dataclasses import replace

import numpy as np

from ravatar_live.audio.pcm import Int16Array
from ravatar_live.audio.settings import RMS_BASELINE_TAKES, TURN_PRESETS, TakeSettings
from ravatar_live.audio.takes import ReplayVad, find_takes, frame_probabilities
from ravatar_live.audio.turn_judge import InlineJudge
from ravatar_live.audio.turn_model import SmartTurnModel
from ravatar_live.audio.vad import RmsGate, SileroVad, Vad, WebRtcVad
from tests.support.take_quality import (
    CorpusItem,
    Score,
    build_corpus,
    build_phrased_corpus,
    score_takes,
)

FRAME_S = 0.032


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


class RecordingJudge(InlineJudge):
    """Remembers where each pause was judged, to score the verdicts against the truth."""

    def __init__(self, model: CachedModel, latency_s: float) -> None:
        super().__init__(model, latency_s=latency_s)
        self.asked_at: list[int] = []

    def ask(self, pause_id: int, samples: Int16Array, at_sample: int) -> None:
        self.asked_at.append(at_sample)
        super().ask(pause_id, samples, at_sample)


VerdictLog = list[tuple[str, float | None]]  # ("end" | "mid", P(complete))


def evaluate(probs: list[list[float]], vad: Vad, settings: TakeSettings,
             corpus: list[CorpusItem], *, judge_model: CachedModel | None = None,
             latency_s: float = 0.0, verdicts: VerdictLog | None = None) -> Score:
    total = Score()
    for p, item in zip(probs, corpus, strict=True):
        judge = RecordingJudge(judge_model, latency_s) if judge_model else None
        takes = find_takes(item.clip.samples, ReplayVad(p, vad.frame_samples), settings,
                           judge=judge)
        total.add(score_takes(takes, item.clip))
        if judge is not None and verdicts is not None:
            verdicts.extend(classify(judge, item))
    return total


def classify(judge: RecordingJudge, item: CorpusItem) -> VerdictLog:
    """Each judged pause as the end of an utterance (asked within 0.6 s after its true end) or
    a pause inside one; pauses elsewhere (noise) are left out."""
    out: VerdictLog = []
    for at, verdict in zip(judge.asked_at, judge.verdicts, strict=True):
        t = at / 16000
        for u in item.clip.truth:
            if u.start_s < t < u.end_s:
                out.append(("mid", verdict.probability))
            elif u.end_s <= t <= u.end_s + 0.6:
                out.append(("end", verdict.probability))
    return out


def verdict_summary(log: VerdictLog, threshold: float) -> str:
    def share(kind: str) -> str:
        ps = [p for k, p in log if k == kind and p is not None]
        return f"{sum(p >= threshold for p in ps) / max(len(ps), 1):.0%} of {len(ps)}"

    ends = np.array([p for k, p in log if k == "end" and p is not None])
    mids = np.array([p for k, p in log if k == "mid" and p is not None])
    auc = float(np.mean(ends[:, None] > mids[None, :]) + 0.5 * np.mean(
        ends[:, None] == mids[None, :])) if ends.size and mids.size else float("nan")
    return (f"model verdicts: 'complete' (p >= {threshold}) at {share('end')} utterance ends and "
            f"{share('mid')} pauses inside utterances; ROC AUC ends vs inside {auc:.2f}")


def noise_false(probs: list[list[float]], vad: Vad, settings: TakeSettings,
                corpus: list[CorpusItem], *, judge_model: CachedModel | None = None,
                latency_s: float = 0.0) -> int:
    only = [(p, item) for p, item in zip(probs, corpus, strict=True) if not item.clip.truth]
    return evaluate([p for p, _ in only], vad, settings, [i for _, i in only],
                    judge_model=judge_model, latency_s=latency_s).false


HEADER = (f"{'detector':<34} {'found':>5} {'missed':>6} {'split':>5} {'merged':>6} {'false':>5} "
          f"{'noise':>5} {'P50 ms':>7} {'P95 ms':>7} {'CPU/frame':>10}")


def row(label: str, s: Score, noise: int, cpu_us: float) -> str:
    p50, p95 = s.delay_percentile(50) * 1000, s.delay_percentile(95) * 1000
    return (f"{label:<34} {s.found:>5} {s.missed:>6} {s.split:>5} {s.merged:>6} {s.false:>5} "
            f"{noise:>5} {p50:>7.0f} {p95:>7.0f} {cpu_us:>8.0f}us")


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
    ap.add_argument("--quick", action="store_true", help="a smaller corpus (2 voices x 2 speeds)")
    ap.add_argument("--sweep", action="store_true", help="also sweep the plain take settings")
    args = ap.parse_args()
    t0 = time.perf_counter()
    voices = ("en-us", "en-gb") if args.quick else ("en-us", "en-gb", "en-gb-scotland",
                                                    "en-us+f3")
    speeds = (150, 210) if args.quick else (140, 175, 220)
    corpus = build_corpus(voices=voices, speeds=speeds) + build_phrased_corpus(
        voices=voices, speeds=speeds)
    audio_s = sum(item.clip.duration_s for item in corpus)
    utts = sum(len(item.clip.truth) for item in corpus)
    phrased = sum(len(i.clip.truth) for i in corpus if i.name.startswith("phrased/"))
    print(f"corpus: {len(corpus)} clips, {audio_s:.0f} s of audio, {utts} utterances "
          f"({phrased} of them phrased with 250-600 ms pauses; built in "
          f"{time.perf_counter() - t0:.1f} s)")

    silero, rms = SileroVad(), RmsGate()
    silero_probs, silero_cpu = vad_cpu_per_frame(silero, corpus)
    rms_probs, rms_cpu = vad_cpu_per_frame(rms, corpus)

    model = CachedModel(SmartTurnModel())
    warm = [item.clip.samples[: 16000 * 4] for item in corpus[:12]]
    for w in warm:  # calibration: how long a judgement takes on this machine, now
        model.completion_probability(w)
    latency = float(np.percentile(model.wall_s, 95))
    print(f"end-of-turn model: {np.median(model.wall_s) * 1000:.0f} ms per judgement (P50), "
          f"{latency * 1000:.0f} ms (P95): verdicts applied {latency * 1000:.0f} ms after the "
          "pause was noticed")
    print()
    print(HEADER)
    base = TakeSettings()
    s = evaluate(rms_probs, rms, RMS_BASELINE_TAKES, corpus)
    print(row("rms gate (web demo: 0.02, 900 ms)", s,
              noise_false(rms_probs, rms, RMS_BASELINE_TAKES, corpus), rms_cpu))
    for hang in (300, 500, 800):
        st = replace(base, turn=None, hangover_ms=hang)
        s = evaluate(silero_probs, silero, st, corpus)
        print(row(f"silero, {hang} ms hangover", s,
                  noise_false(silero_probs, silero, st, corpus), silero_cpu))
    verdicts: VerdictLog = []
    for name, turn in TURN_PRESETS.items():
        st = replace(base, turn=turn)
        model.reset_counts()
        s = evaluate(silero_probs, silero, st, corpus, judge_model=model, latency_s=latency,
                     verdicts=verdicts if turn == base.turn else None)
        calls, model_cpu = model.calls, model.cpu_s
        frames = sum(len(p) for p in silero_probs)
        cpu = silero_cpu + model_cpu / frames * 1e6
        label = f"silero + turn model, {name}" + (" *" if turn == base.turn else "")
        print(row(label, s, noise_false(silero_probs, silero, st, corpus, judge_model=model,
                                       latency_s=latency), cpu)
              + f"  ({calls} judgements, {model_cpu / max(calls, 1) * 1000:.0f} ms CPU each)")
    print("* the default. found/missed/split/merged count utterances; false = takes on no "
          "speech, noise = those on noise-only and silence clips; CPU/frame = per 32 ms of audio.")
    assert base.turn is not None
    print(verdict_summary(verdicts, base.turn.threshold))

    print()
    print("by subset (split / merged, P50 / P95 ms):")
    subsets = {"plain utterances": [i for i in corpus if i.clip.truth
                                    and not i.name.startswith("phrased/")],
               "phrased sentences": [i for i in corpus if i.name.startswith("phrased/")]}
    for label, st, with_model in (
            ("silero 300 ms", replace(base, turn=None), False),
            ("silero 800 ms", replace(base, turn=None, hangover_ms=800), False),
            ("turn model, balanced", base, True)):
        parts = []
        for sub_name, items in subsets.items():
            idx = [corpus.index(i) for i in items]
            sc = evaluate([silero_probs[k] for k in idx], silero, st, items,
                          judge_model=model if with_model else None, latency_s=latency)
            parts.append(f"{sub_name}: {sc.split}/{sc.merged}, "
                         f"{sc.delay_percentile(50) * 1000:.0f}/"
                         f"{sc.delay_percentile(95) * 1000:.0f}")
        print(f"  {label:<22} " + "; ".join(parts))

    if args.sweep:
        sweep(corpus, silero_probs)
    print(f"total bench time {time.perf_counter() - t0:.0f} s")


def sweep(corpus: list[CorpusItem], silero_probs: list[list[float]]) -> None:
    """The plain take settings by VAD backend (no turn model): how the defaults were picked."""
    backends: dict[str, Vad] = {"silero": SileroVad(), "webrtc-2": WebRtcVad(2),
                                "webrtc-3": WebRtcVad(3)}
    probs = {"silero": silero_probs}
    for name in ("webrtc-2", "webrtc-3"):
        probs[name] = vad_cpu_per_frame(backends[name], corpus)[0]
    print()
    print("plain take settings (no turn model), best four per backend:")
    default = replace(TakeSettings(), turn=None)
    for name, vad in backends.items():
        results = []
        for thr in ((0.3, 0.4, 0.5, 0.6, 0.7) if name == "silero" else (0.5,)):
            for hang in (200, 300, 400, 500, 700):
                for min_ms in (150, 250):
                    st = replace(default, threshold=thr, hangover_ms=hang, min_speech_ms=min_ms,
                                 release_delta=min(default.release_delta, thr / 2))
                    results.append((f"{name} thr={thr} hang={hang} min={min_ms}",
                                    evaluate(probs[name], vad, st, corpus)))
        results.sort(key=lambda r: (r[1].errors, r[1].delay_percentile(50)))
        for label, sc in results[:4]:
            print(f"  {label:<34} errors {sc.errors:>3}  P50 "
                  f"{sc.delay_percentile(50) * 1000:.0f} ms  P95 "
                  f"{sc.delay_percentile(95) * 1000:.0f} ms")


if __name__ == "__main__":
    main()

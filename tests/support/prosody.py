"""Prosody at a pause: how the speech just before it sounded, in a few numbers.

Turn-taking research finds the end of a turn in the tune and timing of its last words: a final
fall of the pitch towards the speaker's floor, energy dying away, and final lengthening of the
last syllable; a phrase boundary inside a sentence keeps the pitch level or rising. These are
measured here in numpy, on the take so far, ending where speech stopped:

- a YIN pitch tracker (de Cheveigné & Kawahara, 2002): the cumulative-mean-normalised
  difference function on 25 ms windows every 10 ms, 60-400 Hz, voiced where its dip is below
  ``_APERIODICITY`` and the frame is loud enough; parabolic interpolation of the dip;
- pitch in semitones relative to the speaker's median pitch in this take (so voices and
  speakers compare), energy in dB relative to the take's loud frames.

``PauseProsody`` holds the features; each is 0 when it cannot be measured (too little voicing),
a neutral value for a logistic combination. The bench (``turn_evidence.py``) measures how well
they tell the end of a sentence from a pause inside one, per voice family and held out.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass

import numpy as np
import numpy.typing as npt

RATE = 16_000
HOP = 160                  # 10 ms
WINDOW = 400               # 25 ms
MIN_HZ, MAX_HZ = 60.0, 400.0
_APERIODICITY = 0.25       # YIN threshold: below it a frame is periodic (voiced)
_QUIET_DB = -30.0          # frames this far below the take's loud frames are not voiced
_SILENT_RMS = 10 ** (-70 / 20)   # digital silence is never voiced, whatever YIN says
_TAIL_S = 0.3              # the stretch before the pause whose tune counts
_LAST_S = 0.12             # "the last syllable's" pitch: the final voiced frames

Float64Array = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class PauseProsody:
    final_pitch: float     # semitones of the last voiced frames vs the take's median (fall < 0)
    pitch_slope: float     # semitones per second over the last 0.3 s of voicing
    pitch_floor: float     # semitones of the last voiced frames above the take's 10th percentile
    energy_slope: float    # dB per second over the last 0.3 s of speech (decay < 0)
    final_energy: float    # dB of the last 0.1 s vs the take's loud frames
    lengthening: float     # log2 of the last voiced stretch's length vs the take's median stretch

    def as_array(self) -> Float64Array:
        return np.array(astuple(self), dtype=np.float64)


NEUTRAL = PauseProsody(0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
FEATURE_NAMES = PauseProsody.__dataclass_fields__.keys()


def pitch_track(x: Float64Array) -> tuple[Float64Array, Float64Array]:
    """(f0 in Hz with 0 where unvoiced, frame RMS) every 10 ms of float audio at 16 kHz."""
    max_lag = int(RATE / MIN_HZ)
    min_lag = int(RATE / MAX_HZ)
    span = WINDOW + max_lag
    if x.size < span:
        return np.zeros(0), np.zeros(0)
    frames = np.lib.stride_tricks.sliding_window_view(x, span)[::HOP]
    n_fft = 1 << int(np.ceil(np.log2(2 * span)))
    # Difference function d(tau) = e(0) + e(tau) - 2 r(tau), with r the windowed
    # cross-correlation computed by FFT, e(tau) the energy of the window shifted by tau.
    head = frames[:, :WINDOW]
    spec_full = np.fft.rfft(frames, n_fft, axis=1)
    spec_head = np.fft.rfft(head, n_fft, axis=1)
    r = np.fft.irfft(np.conj(spec_head) * spec_full, n_fft, axis=1)[:, : max_lag + 1]
    sq = np.cumsum(np.pad(frames * frames, ((0, 0), (1, 0))), axis=1)
    energy = sq[:, WINDOW : WINDOW + max_lag + 1] - sq[:, : max_lag + 1]   # e(tau)
    diff = energy[:, :1] + energy - 2.0 * r
    diff[:, 0] = 0.0
    cumulative = np.cumsum(diff[:, 1:], axis=1) / np.arange(1, max_lag + 1)
    cmnd = np.ones_like(diff)
    cmnd[:, 1:] = diff[:, 1:] / np.maximum(cumulative, 1e-12)
    rms = np.sqrt(energy[:, 0] / WINDOW)
    search = cmnd[:, min_lag:max_lag] < _APERIODICITY
    periodic = search.any(axis=1) & (rms > _SILENT_RMS)
    rows = np.flatnonzero(periodic)
    lag = min_lag + search[rows].argmax(axis=1)          # first lag under the threshold
    for _ in range(max_lag):                              # then down to the dip's bottom
        step = (lag + 1 < max_lag) & (cmnd[rows, np.minimum(lag + 1, max_lag)]
                                      < cmnd[rows, lag])
        if not step.any():
            break
        lag = lag + step
    a, b, c = cmnd[rows, lag - 1], cmnd[rows, lag], cmnd[rows, lag + 1]
    curvature = a - 2 * b + c
    shift = np.where(curvature > 0, 0.5 * (a - c) / np.where(curvature > 0, curvature, 1), 0.0)
    f0 = np.zeros(frames.shape[0])
    f0[rows] = RATE / (lag + shift)
    return f0, rms


def _slope(values: Float64Array, times_s: Float64Array) -> float:
    if values.size < 3 or np.ptp(times_s) <= 0:
        return 0.0
    return float(np.polyfit(times_s, values, 1)[0])


def _runs(mask: npt.NDArray[np.bool_]) -> list[int]:
    """Lengths of the runs of True."""
    edges = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    return list(np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1))


def pause_prosody(samples: npt.ArrayLike, speech_end: int) -> PauseProsody:
    """Features of 16 kHz audio whose speech stops at sample ``speech_end`` (the pause after it
    is ignored)."""
    x = np.asarray(samples, dtype=np.float64).reshape(-1)[: max(0, speech_end)] / 32768.0
    f0, rms = pitch_track(x)
    if f0.size < 10:
        return NEUTRAL
    db = 20 * np.log10(np.maximum(rms, 1e-9))
    loud_db = float(np.percentile(db, 90))
    voiced = (f0 > 0) & (db > loud_db + _QUIET_DB)
    if voiced.sum() < 8:
        return NEUTRAL
    # Frame i covers [i*HOP, i*HOP + WINDOW + max_lag): time it by the window's centre.
    t = (np.arange(f0.size) * HOP + WINDOW / 2) / RATE
    loud = db > loud_db + _QUIET_DB
    # The VAD notices the end of speech late: the tail is measured back from the last loud frame.
    end_t = float(t[loud][-1])
    semis = np.zeros_like(f0)
    semis[voiced] = 12 * np.log2(f0[voiced] / np.median(f0[voiced]))
    floor = float(np.percentile(semis[voiced], 10))
    tail = voiced & (t >= end_t - _TAIL_S)
    last_voiced_t = float(t[voiced][-1])
    last = voiced & (t >= last_voiced_t - _LAST_S)
    final_pitch = float(np.median(semis[last]))
    tail_loud = loud & (t >= end_t - _TAIL_S)
    final_energy_frames = (t >= end_t - 0.1) & (t <= end_t)
    runs = _runs(voiced)
    return PauseProsody(
        final_pitch=final_pitch,
        pitch_slope=float(np.clip(_slope(semis[tail], t[tail]), -60, 60)),
        pitch_floor=final_pitch - floor,
        energy_slope=float(np.clip(_slope(db[tail_loud], t[tail_loud]), -200, 200)),
        final_energy=float(np.median(db[final_energy_frames]) - loud_db)
        if final_energy_frames.any() else 0.0,
        lengthening=float(np.log2(runs[-1] / np.median(runs))) if runs else 0.0,
    )

"""Finding a played signal in a recorded one: how well, where, and whether samples went missing
on the way."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

INTACT = 0.9  # a stretch whose normalised correlation reaches this arrived as played


def match_scores(longer: np.ndarray, pattern: np.ndarray) -> np.ndarray:
    """The normalised correlation of `pattern` with the stretch of `longer` at every offset
    (1.0: the same samples, up to loudness)."""
    a, b = longer.astype(np.float64), pattern.astype(np.float64)
    assert len(a) >= len(b)
    size = 1 << (len(a) + len(b)).bit_length()
    products = np.fft.irfft(np.fft.rfft(a, size) * np.conj(np.fft.rfft(b, size)), size)
    energy = np.convolve(a * a, np.ones(len(b)), "valid")  # each stretch's energy
    return products[: len(energy)] / np.sqrt(np.maximum(energy, 1e-9) * np.dot(b, b))


def best_match(longer: np.ndarray, pattern: np.ndarray) -> float:
    """The highest normalised correlation of `pattern` with any stretch of `longer`."""
    return float(np.max(match_scores(longer, pattern)))


@dataclass
class Alignment:
    """Where each voiced 20 ms window of the reference was found in the received audio."""

    lags: list[int]       # received index minus reference index, window by window
    matches: list[float]  # each window's normalised correlation at its lag

    @property
    def matched(self) -> float:
        """Share of the voiced windows found nearly intact (correlation >= INTACT)."""
        return sum(m >= INTACT for m in self.matches) / len(self.matches)

    @property
    def lost(self) -> int:
        """Samples missing between the first well-matched window and the last."""
        good = self._well_matched_lags()
        return good[0] - good[-1]

    @property
    def inserted(self) -> int:
        """The largest step the other way between well-matched windows: samples never played."""
        return max([b - a for a, b in itertools.pairwise(self._well_matched_lags())] + [0])

    def _well_matched_lags(self) -> list[int]:
        return [lag for lag, m in zip(self.lags, self.matches, strict=True) if m >= INTACT]


def align(received: np.ndarray, reference: np.ndarray, *, window: int = 320,
          search: int = 400) -> Alignment:
    """Track the reference through the received audio one window at a time.

    Each window is searched within `search` samples of the last lag and takes, of the lags that fit
    about as well as the best, the nearest (a steady voice also fits a pitch period away). So a
    slip (samples an audio server dropped) shows as a step in the lags instead of ruining one
    global correlation.
    """
    a = received.astype(np.float64)
    b = reference.astype(np.float64)
    if a.size < b.size + 2 * search:
        a = np.concatenate([a, np.zeros(b.size + 2 * search - a.size)])
    starts = range(0, b.size - window + 1, window)
    norms = [float(np.linalg.norm(b[s:s + window])) for s in starts]
    voiced = 0.1 * max(norms)
    lag = int(np.argmax(match_scores(a, b)))  # the best lag for the whole utterance
    lags: list[int] = []
    matches: list[float] = []
    for start, norm in zip(starts, norms, strict=True):
        if norm < voiced:
            continue
        lo = max(0, start + lag - search)
        hi = min(a.size - window, start + lag + search)
        candidates = np.lib.stride_tricks.sliding_window_view(a[lo:hi + window], window)
        energy = np.sqrt(np.maximum(np.einsum("ij,ij->i", candidates, candidates), 1e-9))
        scores = candidates @ b[start:start + window] / (energy * norm)
        fitting = np.flatnonzero(scores >= scores.max() - 0.05) + lo - start
        lag = int(fitting[np.argmin(np.abs(fitting - lag))])
        lags.append(lag)
        matches.append(float(scores[start + lag - lo]))
    return Alignment(lags, matches)

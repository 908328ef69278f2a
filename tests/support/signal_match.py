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


# What a step in the lags costs, in units of (1 - correlation) of one window: a loss little per
# sample, since slips of 1-40 samples are what an audio server's overrun makes; an insertion more,
# so that a steady voice, which also fits a pitch period away, is not read as a loss undone by an
# insertion; and any step at most STEP_CAP, so a whole block lost or repeated is taken too.
LOSS_COST = 0.002
INSERT_COST = 0.01
STEP_CAP = 1.5


def align(received: np.ndarray, reference: np.ndarray, *, window: int = 320,
          search: int = 2048) -> Alignment:
    """Find each voiced `window` of the reference in the received audio, as one consistent path.

    Every window is scored at every lag within `search` samples of the whole utterance's best
    lag; the path taken is the one with the least (1 - correlation) over its windows plus the
    cost of its steps (above), found by dynamic programming. A window taken alone can fit better
    a pitch period away, or fit badly where samples went missing inside it; the whole path
    does not jump for that. So a slip (samples an audio server dropped) shows as a step down in
    the lags and a repeat as a step up, instead of ruining one global correlation.
    """
    a = received.astype(np.float64)
    b = reference.astype(np.float64)
    if a.size < b.size:
        a = np.concatenate([a, np.zeros(b.size - a.size)])
    lag0 = int(np.argmax(match_scores(a, b)))  # the best lag for the whole utterance
    a = np.concatenate([np.zeros(search), a, np.zeros(search + window)])
    cumulative_energy = np.concatenate([[0.0], np.cumsum(a * a)])
    offsets = np.arange(2 * search + 1)  # lag = lag0 - search + offset
    starts = range(0, b.size - window + 1, window)
    norms = [float(np.linalg.norm(b[s:s + window])) for s in starts]
    voiced = 0.1 * max(norms)
    rows = []
    for start, norm in zip(starts, norms, strict=True):
        if norm < voiced:
            continue
        first = start + lag0  # where offset 0 begins in the padded `a`
        candidates = np.lib.stride_tricks.sliding_window_view(
            a[first:first + offsets.size - 1 + window], window)
        energy = np.sqrt(np.maximum(cumulative_energy[first + offsets + window]
                                    - cumulative_energy[first + offsets], 1e-9))
        rows.append(candidates @ b[start:start + window] / (energy * norm))
    scores = np.array(rows)
    path = _cheapest_path(1.0 - scores, offsets)
    return Alignment([lag0 - search + p for p in path],
                     [float(scores[k, p]) for k, p in enumerate(path)])


def _cheapest_path(costs: np.ndarray, offsets: np.ndarray) -> list[int]:
    """The offsets, one per row of `costs`, with the least total of costs and step costs."""
    total = costs[0]
    came_from = []
    for row in costs[1:]:
        # Reaching i from a higher offset j (a loss) costs total[j] + LOSS_COST * (j - i), from a
        # lower one (an insertion) total[j] + INSERT_COST * (i - j): for every i at once, running
        # minima from the end and from the start.
        above, above_at = _running_min((total + LOSS_COST * offsets)[::-1])
        loss_cost = above[::-1] - LOSS_COST * offsets
        loss_from = (offsets.size - 1 - above_at)[::-1]
        below, insert_from = _running_min(total - INSERT_COST * offsets)
        insert_cost = below + INSERT_COST * offsets
        best = np.minimum(loss_cost, insert_cost)
        origin = np.where(insert_cost < loss_cost, insert_from, loss_from)
        capped = total.min() + STEP_CAP  # any step at all, at its most
        origin = np.where(capped < best, int(np.argmin(total)), origin)
        total = np.minimum(best, capped) + row
        came_from.append(origin)
    path = [int(np.argmin(total))]
    for origin in reversed(came_from):
        path.append(int(origin[path[-1]]))
    return path[::-1]


def _running_min(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The minimum of `values[:i + 1]` for every i, and where it was found."""
    minima = np.minimum.accumulate(values)
    found_at = np.maximum.accumulate(np.where(values == minima, np.arange(values.size), 0))
    return minima, found_at

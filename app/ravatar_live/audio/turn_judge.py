"""Where the end-of-turn model runs: beside the take logic, never inside a capture backend.

A ``TurnJudge`` is asked to judge a pause (``ask``) and hands verdicts back when the take logic
polls (``ready``), so the take logic stays a synchronous state machine on the thread that feeds
it audio:

- ``BackgroundJudge``: the live path. The model loads and runs on one worker thread; verdicts
  cross back through a thread-safe queue that the feeding thread drains at its next audio block.
  Only the newest pause matters: an older question still waiting is dropped.
- ``InlineJudge``: files (``ravatar-live-takes``, the bench). It judges at once and releases the
  verdict when the stream has advanced by the time the judgement took, as a live run would see.

A model that cannot load or fails answers None: the take logic then uses its plain hangover.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

from ravatar_live.audio.errors import AudioError
from ravatar_live.audio.pcm import SAMPLE_RATE, Int16Array
from ravatar_live.audio.turn_model import SmartTurnModel

log = logging.getLogger(__name__)


class TurnModel(Protocol):
    window_s: float

    def completion_probability(self, samples: Int16Array) -> float: ...


@dataclass(frozen=True, slots=True)
class Verdict:
    pause_id: int
    probability: float | None     # None: the model could not judge
    seconds: float = 0.0          # wall time the judgement took


class TurnJudge(Protocol):
    window_s: float

    def ask(self, pause_id: int, samples: Int16Array, at_sample: int) -> None:
        """Judge ``samples`` (the take so far); ``at_sample`` is the stream position now."""
        ...

    def ready(self, position: int) -> list[Verdict]:
        """Verdicts available once the stream has reached ``position``."""
        ...

    def prepare(self) -> None:
        """Speech began: have the model ready for the pause that may follow."""
        ...

    @property
    def failure(self) -> str:
        """Why the model cannot judge, in plain words; empty when it can (or is loading)."""
        ...

    def close(self) -> None: ...


def _judge(model: TurnModel, pause_id: int, samples: Int16Array) -> Verdict:
    started = time.perf_counter()
    try:
        probability: float | None = model.completion_probability(samples)
    except Exception as exc:  # a model failure must never stop hands-free
        log.warning("end-of-turn model failed (%s); this pause ends by the hangover", exc)
        probability = None
    return Verdict(pause_id, probability, time.perf_counter() - started)


class InlineJudge:
    def __init__(self, model: TurnModel, *, latency_s: float | None = None,
                 sample_rate: int = SAMPLE_RATE) -> None:
        self.window_s = model.window_s
        self._model = model
        self._latency_s = latency_s     # None: the measured time of each judgement
        self._rate = sample_rate
        self._waiting: list[tuple[int, Verdict]] = []
        self.verdicts: list[Verdict] = []  # every answer given, for figures

    @property
    def failure(self) -> str:
        return ""  # the model was loaded before this judge was made

    def close(self) -> None:
        self._waiting.clear()

    def prepare(self) -> None:
        pass  # the model was loaded before this judge was made

    def ask(self, pause_id: int, samples: Int16Array, at_sample: int) -> None:
        verdict = _judge(self._model, pause_id, samples)
        self.verdicts.append(verdict)
        delay = verdict.seconds if self._latency_s is None else self._latency_s
        self._waiting.append((at_sample + round(delay * self._rate), verdict))

    def ready(self, position: int) -> list[Verdict]:
        due = [v for at, v in self._waiting if at <= position]
        self._waiting = [(at, v) for at, v in self._waiting if at > position]
        return due


class BackgroundJudge:
    """Loads the model on its worker thread and judges there; ``close()`` stops the thread.

    The model (with its runtime, ~80 MB) loads when speech first begins (``prepare``), not when
    hands-free starts: a session that listens and is never spoken to does not pay for it, and
    the load (~0.3 s) is over before the first pause is judged. ``check`` (run at once, on the
    worker) finds a missing or damaged model early, so Settings can say why before anyone
    speaks."""

    def __init__(self, load_model: Callable[[], TurnModel], *, window_s: float = 8.0,
                 check: Callable[[], None] | None = None) -> None:
        self.window_s = window_s
        self._answers: queue.SimpleQueue[Verdict] = queue.SimpleQueue()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="turn-model")
        self._model: TurnModel | None = None
        self._failure = ""
        self._loaded = threading.Event()
        self._waiting: Future[None] | None = None
        self._load_model = load_model
        self._load_job: Future[None] | None = None
        if check is not None:
            self._executor.submit(self._check, check)

    def prepare(self) -> None:
        if self._load_job is None:
            self._load_job = self._executor.submit(self._load, self._load_model)

    @property
    def failure(self) -> str:
        """Why the model is unavailable, in plain words; empty while loading or when loaded."""
        return self._failure

    def wait_loaded(self, timeout: float | None = None) -> bool:
        """Load the model if not yet asked to, and block until it loaded or failed (tests and
        the takes tool)."""
        self.prepare()
        return self._loaded.wait(timeout)

    def ask(self, pause_id: int, samples: Int16Array, at_sample: int) -> None:
        if self._failure:  # known unavailable: answer at once, the hangover takes over
            self._answers.put(Verdict(pause_id, None))
            return
        self.prepare()  # a pause without a speech start first (tests): load now
        if self._waiting is not None:
            self._waiting.cancel()  # a question not started yet is moot: a newer pause came
        self._waiting = self._executor.submit(self._run, pause_id, samples)

    def ready(self, position: int, *, wait_s: float = 0.0) -> list[Verdict]:
        """Every answer so far; ``wait_s`` > 0 blocks that long at most for a first one (the
        takes tool and tests; the live path never waits)."""
        answers: list[Verdict] = []
        try:
            if wait_s > 0:
                answers.append(self._answers.get(timeout=wait_s))
            while True:
                answers.append(self._answers.get_nowait())
        except queue.Empty:
            return answers

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _check(self, check: Callable[[], None]) -> None:
        try:
            check()
        except Exception as exc:  # whatever it is, hands-free must go on without the model
            self._unavailable(exc)
            self._loaded.set()  # nothing will load

    def _load(self, load_model: Callable[[], TurnModel]) -> None:
        if self._failure:
            return  # the check already found it unusable
        try:
            self._model = load_model()
            self.window_s = self._model.window_s
        except Exception as exc:  # whatever it is, hands-free must go on without the model
            self._unavailable(exc)
        finally:
            self._loaded.set()

    def _unavailable(self, exc: Exception) -> None:
        why = exc if isinstance(exc, AudioError) else AudioError(
            "The end-of-turn model could not be loaded.", detail=repr(exc))
        self._failure = why.user_message
        log.warning("end-of-turn model unavailable: %s; hands-free ends takes after the "
                    "plain pause length", why)

    def _run(self, pause_id: int, samples: Int16Array) -> None:
        if self._model is None:
            self._answers.put(Verdict(pause_id, None))
            return
        self._answers.put(_judge(self._model, pause_id, samples))


def default_turn_judge() -> TurnJudge:
    """The smart-turn model, loaded (at the first speech) and run on its own worker thread."""
    return BackgroundJudge(SmartTurnModel, check=SmartTurnModel.check)

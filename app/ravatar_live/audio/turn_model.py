"""The smart-turn v3 end-of-turn model (Pipecat's, BSD-2): audio in, P(turn complete) out.

The weights are not in this repository; ``turn_weights.py`` says where they come from (at
install time, never at run time) and checks them.

The model is a Whisper-tiny encoder with a classifier: it reads the newest 8 s of 16 kHz audio
as 80 x 800 log-mel features (``log_mel.py``) and answers a probability (a sigmoid is inside).
"""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path
from typing import Any

import numpy as np

from ravatar_live.audio.log_mel import fixed_window, log_mel
from ravatar_live.audio.pcm import Int16Array
from ravatar_live.audio.turn_weights import (
    TurnModelUnavailableError,
    default_model_path,
    verify_model_file,
)

log = logging.getLogger(__name__)


class SmartTurnModel:
    """One ONNX Runtime session on one thread; call it from a worker, never the GUI thread."""

    window_s = 8.0  # the model's fixed input: the newest 8 s of audio

    @staticmethod
    def check(path: Path | None = None) -> None:
        """Raise TurnModelUnavailableError if the model could not load: its file is missing or
        damaged, or onnxruntime is not installed (without loading either)."""
        verify_model_file(path or default_model_path())
        if importlib.util.find_spec("onnxruntime") is None:
            raise TurnModelUnavailableError(
                "The end-of-turn model needs onnxruntime, which is not installed.")

    def __init__(self, path: Path | None = None) -> None:
        path = path or default_model_path()
        verify_model_file(path)
        try:
            import onnxruntime as ort  # noqa: PLC0415
        except ImportError as exc:
            raise TurnModelUnavailableError(
                "The end-of-turn model needs onnxruntime, which is not installed.",
                detail=str(exc)) from exc
        options = ort.SessionOptions()
        # One thread: the model runs beside capture and the GUI on small machines, and one
        # judgement per pause is cheap enough (bench/bench_vad.py measures it).
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        try:
            self._session: Any = ort.InferenceSession(
                str(path), sess_options=options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own untyped errors for bad graphs
            raise TurnModelUnavailableError(
                "The end-of-turn model could not be loaded.", detail=str(exc)) from exc
        self._input = self._session.get_inputs()[0].name
        log.info("end-of-turn model loaded (%s)", path.name)

    def completion_probability(self, samples: Int16Array) -> float:
        """P(the speaker has finished) for 16 kHz int16 audio ending now."""
        x = np.asarray(samples, dtype=np.float32) / np.float32(32768.0)
        features = log_mel(fixed_window(x, self.window_s))[np.newaxis]
        (out,) = self._session.run(None, {self._input: features})
        return float(np.ravel(out)[0])

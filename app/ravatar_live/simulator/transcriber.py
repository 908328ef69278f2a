"""Speech recognition for voice requests, with pocketsphinx when it is installed.

The decoder is not thread-safe and takes ~0.5 s to load, so one worker thread per process owns
it, shared by every simulator in the process (tests start many): it is loaded on first use and
every utterance is decoded there, off the event loop, one at a time.

pocketsphinx holds the GIL for as long as one `process_raw` call runs: a 3 s utterance fed at
once froze every other Python thread of the process for 2-3 s on a busy machine, and the
embedded simulator shares the app's process (its microphone queue overflowed, its window
stalled). Fed in 0.1 s pieces, other threads get the GIL back between pieces.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

log = logging.getLogger(__name__)

SILENCE_PAD = b"\x00\x00" * 4000  # 250 ms at 16 kHz: the decoder misses words cut at the edges
PIECE_BYTES = 2 * 1600  # 0.1 s at 16 kHz: how long the decoder may hold the GIL at a time

_worker_lock = threading.Lock()
_worker: ThreadPoolExecutor | None = None
_decoder: Any = None  # touched only on the worker thread


def pocketsphinx_available() -> bool:
    """Whether the optional recogniser can be imported."""
    return importlib.util.find_spec("pocketsphinx") is not None


def _shared_worker() -> ThreadPoolExecutor:
    global _worker  # noqa: PLW0603 - one recogniser thread per process, by design
    with _worker_lock:
        if _worker is None:
            _worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sim-asr")
        return _worker


def _decode(pcm: bytes) -> str:
    global _decoder  # noqa: PLW0603 - owned by the single worker thread
    if _decoder is None:
        # Optional dependency, imported on the worker on first use (the import is slow too).
        pocketsphinx = importlib.import_module("pocketsphinx")
        pocketsphinx.set_loglevel("FATAL")
        _decoder = pocketsphinx.Decoder(samprate=16000, loglevel="FATAL")
    audio = SILENCE_PAD + pcm + SILENCE_PAD
    _decoder.start_utt()
    for start in range(0, len(audio), PIECE_BYTES):
        _decoder.process_raw(audio[start:start + PIECE_BYTES], full_utt=False)
    _decoder.end_utt()
    hyp = _decoder.hyp()
    return str(hyp.hypstr).strip() if hyp is not None else ""


class Transcriber:
    """Turns 16 kHz mono s16le into text; `enabled` is False when no recogniser is available."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled and pocketsphinx_available()

    async def transcribe(self, pcm: bytes) -> str | None:
        """The recognised words (possibly ""), or None when recognition is off or failed."""
        if not self.enabled or not pcm:
            return None
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(_shared_worker(), _decode, pcm)
        except Exception:  # a recogniser fault must not take a chat connection down
            log.exception("speech recognition failed; answering with an audio summary")
            return None

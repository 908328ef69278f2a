"""Speech recognition for voice requests, with pocketsphinx when it is installed.

pocketsphinx holds the GIL while it decodes, and the embedded simulator shares the app's
process: decoded there, a take's recognition starved the app's threads (its microphone queue
overflowed, its window stalled). So it runs in a process of its own (``asr_process.py``), started
on first use and shared by every simulator in this process (tests start many). One worker thread
talks to it, one utterance at a time; it waits on the pipe without the GIL.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import importlib.util
import json
import logging
import os
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO

from ravatar_live.simulator.asr_process import HEADER_BYTES

log = logging.getLogger(__name__)

_worker_lock = threading.Lock()
_worker: ThreadPoolExecutor | None = None


def pocketsphinx_available() -> bool:
    """Whether the optional recogniser can be imported."""
    return importlib.util.find_spec("pocketsphinx") is not None


class RecogniserProcess:
    """The recogniser's process, seen from its parent. Not thread-safe: one thread uses it."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """The running process's id (None before its first utterance or after `close`)."""
        return self._proc.pid if self._proc is not None else None

    def decode(self, pcm: bytes) -> str:
        """The words heard in 16 kHz mono s16le `pcm`. A process that died (or was killed) is
        started afresh once; RuntimeError when that one fails too."""
        for _ in range(2):
            proc = self._running()
            assert proc.stdin is not None and proc.stdout is not None
            try:
                proc.stdin.write(len(pcm).to_bytes(HEADER_BYTES, "big") + pcm)
                proc.stdin.flush()
                line = proc.stdout.readline()
            except OSError:  # a broken pipe: it is gone
                line = b""
            if line:
                return str(json.loads(line)["text"])
            log.warning("the speech recogniser's process stopped (exit %s); starting another",
                        proc.poll())
            self.close()
        raise RuntimeError("the speech recogniser's process keeps stopping")

    def close(self) -> None:
        """End the process (it exits when its input closes)."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        _close_quietly(proc.stdin)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        _close_quietly(proc.stdout)

    def _running(self) -> subprocess.Popen[bytes]:
        if self._proc is None or self._proc.poll() is not None:
            package_root = str(Path(__file__).resolve().parents[2])
            env = dict(os.environ)
            env["PYTHONPATH"] = os.pathsep.join(
                p for p in (package_root, env.get("PYTHONPATH")) if p)
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "ravatar_live.simulator.asr_process"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        return self._proc


def _close_quietly(pipe: IO[bytes] | None) -> None:
    if pipe is not None:
        with contextlib.suppress(OSError):
            pipe.close()


recogniser = RecogniserProcess()  # used only on the worker thread below (and at exit)
atexit.register(recogniser.close)


def _shared_worker() -> ThreadPoolExecutor:
    global _worker  # noqa: PLW0603 - one recogniser thread per process, by design
    with _worker_lock:
        if _worker is None:
            _worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sim-asr")
        return _worker


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
            return await loop.run_in_executor(_shared_worker(), recogniser.decode, pcm)
        except Exception:  # a recogniser fault must not take a chat connection down
            log.exception("speech recognition failed; answering with an audio summary")
            return None

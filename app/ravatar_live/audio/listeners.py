"""A tiny Qt-free signal: a list of callbacks with connect / disconnect / emit."""

from __future__ import annotations

import logging
from collections.abc import Callable

log = logging.getLogger(__name__)


class Listeners[**P]:
    """Callbacks run in connection order on the emitting thread (the asyncio loop for the
    VoiceController). A listener that raises is logged and skipped: one broken view must not
    stop audio for the others."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._callbacks: list[Callable[P, object]] = []

    def connect(self, callback: Callable[P, object]) -> Callable[P, object]:
        self._callbacks.append(callback)
        return callback

    def disconnect(self, callback: Callable[P, object]) -> None:
        self._callbacks = [c for c in self._callbacks if c != callback]

    def emit(self, *args: P.args, **kwargs: P.kwargs) -> None:
        for callback in list(self._callbacks):
            try:
                callback(*args, **kwargs)
            except Exception:
                log.exception("listener of %s failed", self.name)

    def __len__(self) -> int:
        return len(self._callbacks)

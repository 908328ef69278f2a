"""`GlobalPushToTalk`: the global push-to-talk key as a Qt service (no widgets).

`set_key("F9")` starts watching on a thread of its own (a backend may take a moment: an X
connection, or the desktop's confirmation dialog on Wayland), `set_key("")` stops. The backend's
callbacks run on its hook thread and only emit a signal of a private bridge object living on
the GUI thread, so Qt queues them there; this service then emits `pressed` and `released` once
per hold (auto-repeat and a release without a press are dropped). `state_changed` tells
Settings and the log whether it works and, when not, why.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Mapping
from enum import StrEnum

from PySide6.QtCore import QObject, Signal, Slot

from ravatar_live.hotkeys.backend import HotkeyBackend, HotkeyUnavailable, make_backend
from ravatar_live.hotkeys.keys import HotkeyError, HotkeySpec

logger = logging.getLogger(__name__)

BackendFactory = Callable[[Mapping[str, str]], HotkeyBackend]


class HotkeyState(StrEnum):
    OFF = "off"
    STARTING = "starting"
    ON = "on"
    UNAVAILABLE = "unavailable"


class _Bridge(QObject):
    """Lives on the GUI thread; emitted from hook threads, so its receivers run queued."""

    key = Signal(int, bool)  # generation, down
    started = Signal(int, str)  # generation, backend name
    failed = Signal(int, str)  # generation, reason


class GlobalPushToTalk(QObject):
    pressed = Signal()
    released = Signal()
    state_changed = Signal(str, str)  # HotkeyState value, a sentence for Settings

    def __init__(self, backend_factory: BackendFactory = make_backend,
                 environ: Mapping[str, str] | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._factory = backend_factory
        self._environ = os.environ if environ is None else environ
        self._bridge = _Bridge(self)
        self._bridge.key.connect(self._on_key)
        self._bridge.started.connect(self._on_started)
        self._bridge.failed.connect(self._on_failed)
        self._lock = threading.Lock()
        self._generation = 0
        self._backend: HotkeyBackend | None = None
        self._down = False
        self._key = ""
        self.state = HotkeyState.OFF
        self.explanation = "Off."

    @property
    def key(self) -> str:
        return self._key

    @property
    def down(self) -> bool:
        return self._down

    def note(self) -> str:
        """For Settings: whether it works here and, when it cannot, why."""
        if self.state is not HotkeyState.OFF:
            return self.explanation
        try:
            backend = self._factory(self._environ)
        except HotkeyUnavailable as exc:
            return f"Not available here: {exc.reason}"
        return f"Can work here, through {backend.name}."

    def set_key(self, portable: str) -> None:
        """Watch `portable` (Qt portable text) from now on; "" switches it off."""
        if portable == self._key and self.state in (HotkeyState.ON, HotkeyState.STARTING):
            return
        self._stop_backend()
        self._key = portable
        if not portable:
            self._set_state(HotkeyState.OFF, "Off.")
            return
        try:
            spec = HotkeySpec.parse(portable)
        except HotkeyError as exc:
            self._set_state(HotkeyState.UNAVAILABLE, str(exc))
            return
        generation = self._generation
        self._set_state(HotkeyState.STARTING, f"Starting to watch {portable}…")
        threading.Thread(target=self._start, args=(generation, spec), daemon=True,
                         name="global-hotkey-start").start()

    def close(self) -> None:
        self._key = ""
        self._stop_backend()
        self._set_state(HotkeyState.OFF, "Off.")

    # --- the start thread and the hook thread ------------------------------------------------
    def _start(self, generation: int, spec: HotkeySpec) -> None:
        def press() -> None:
            self._bridge.key.emit(generation, True)

        def release() -> None:
            self._bridge.key.emit(generation, False)

        try:
            backend = self._factory(self._environ)
            backend.start(spec, press, release)
        except HotkeyUnavailable as exc:
            self._bridge.failed.emit(generation, exc.reason)
            return
        except Exception as exc:  # a hook library failing in an unforeseen way stays contained
            logger.exception("the global key could not be set up")
            self._bridge.failed.emit(generation, f"The key could not be watched ({exc}).")
            return
        with self._lock:
            current = generation == self._generation
            if current:
                self._backend = backend
        if not current:  # switched off or changed while starting
            backend.stop()
            return
        self._bridge.started.emit(generation, backend.name)

    def _stop_backend(self) -> None:
        with self._lock:
            self._generation += 1
            backend, self._backend = self._backend, None
        if backend is not None:
            backend.stop()
        if self._down:
            self._down = False
            self.released.emit()  # a hold must not outlive the key

    # --- on the GUI thread -------------------------------------------------------------------
    @Slot(int, bool)
    def _on_key(self, generation: int, down: bool) -> None:
        if generation != self._generation or down == self._down:
            return  # an old backend's event, auto-repeat, or a release without a press
        self._down = down
        logger.info("global push-to-talk key %s", "pressed" if down else "released")
        (self.pressed if down else self.released).emit()

    @Slot(int, str)
    def _on_started(self, generation: int, backend: str) -> None:
        if generation == self._generation:
            logger.info("global push-to-talk key %s watched through %s", self._key, backend)
            self._set_state(HotkeyState.ON, f"Hold {self._key} in any app to talk "
                            f"(through {backend}).")

    @Slot(int, str)
    def _on_failed(self, generation: int, reason: str) -> None:
        if generation == self._generation:
            logger.warning("global push-to-talk key unavailable: %s", reason)
            self._set_state(HotkeyState.UNAVAILABLE, reason)

    def _set_state(self, state: HotkeyState, explanation: str) -> None:
        self.state = state
        self.explanation = explanation
        self.state_changed.emit(state.value, explanation)

"""Follows the stream through its stages and notices when it never starts.

The active stream player reports what it sees: the web view its page's bridge messages and a
framing refusal (`on_page_message`, `on_framing_refused`), the native player its own events
(`on_started`, `on_closed`). This service turns that into stages, keeps the watchdog that
catches a stream that never starts, and logs the contract lines
`stream event: ravatar-session-start` / `-close` that smoke tests wait for.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from ravatar_live.live.states import StreamFailure, StreamStage

logger = logging.getLogger(__name__)

SESSION_START = "ravatar-session-start"
SESSION_CLOSE = "ravatar-session-close"
# The stats probe's reports (about one a second) are StreamHealth's to read, not stages.
# Same value as stream_health.STATS_PREFIX, not imported: that module pulls in WebEngine.
STATS_PREFIX = "ravatar-stats "
DEFAULT_START_TIMEOUT_S = 30.0

FAILURE_MESSAGES: dict[StreamFailure, str] = {
    StreamFailure.FRAMING_REFUSED: (
        "The stream server does not allow its page to be shown inside another window "
        "(it sends X-Frame-Options or a frame-ancestors policy)."
    ),
    StreamFailure.NO_START: (
        "The avatar stream did not start. The page loaded but never reported that video began; "
        "it may be blocked inside the app or use a video codec the app cannot play."
    ),
}


class StreamMonitor(QObject):
    stage_changed = Signal(str)  # StreamStage value
    failed = Signal(str, str)  # StreamFailure value, plain-words message
    session_started = Signal()
    session_closed = Signal()

    def __init__(self, start_timeout_s: float = DEFAULT_START_TIMEOUT_S,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._stage = StreamStage.IDLE
        self._watchdog = QTimer(self)
        self._watchdog.setSingleShot(True)
        self._watchdog.setInterval(round(start_timeout_s * 1000))
        self._watchdog.timeout.connect(self._on_watchdog)

    @property
    def stage(self) -> StreamStage:
        return self._stage

    def set_start_timeout(self, seconds: float) -> None:
        self._watchdog.setInterval(round(seconds * 1000))

    @Slot()
    def begin(self) -> None:
        """A stream page is being loaded (framed or direct): wait for it to start."""
        self._set_stage(StreamStage.LOADING)
        self._watchdog.start()

    @Slot()
    def reset(self) -> None:
        self._watchdog.stop()
        self._set_stage(StreamStage.IDLE)

    @Slot(str)
    def on_page_message(self, data: str) -> None:
        if data == SESSION_START:
            self.on_started()
        elif data == SESSION_CLOSE:
            self.on_closed()
        elif not data.startswith(STATS_PREFIX):
            logger.debug("stream page posted an unknown message (%d chars)", len(data))

    @Slot()
    def on_started(self) -> None:
        """The stream runs (the page posted "ravatar-session-start", or the native player
        showed its first frame); may repeat after a reconnect."""
        logger.info("stream event: %s", SESSION_START)
        self._watchdog.stop()
        self._set_stage(StreamStage.PLAYING)
        self.session_started.emit()

    @Slot()
    def on_closed(self) -> None:
        """The stream ended for good ("ravatar-session-close", or the native player gave up)."""
        logger.info("stream event: %s", SESSION_CLOSE)
        self._watchdog.stop()
        self._set_stage(StreamStage.CLOSED)
        self.session_closed.emit()

    @Slot()
    def on_framing_refused(self) -> None:
        if self._stage is StreamStage.LOADING:
            self._fail(StreamFailure.FRAMING_REFUSED)

    @Slot()
    def _on_watchdog(self) -> None:
        if self._stage is StreamStage.LOADING:
            self._fail(StreamFailure.NO_START)

    def _fail(self, reason: StreamFailure) -> None:
        self._watchdog.stop()
        logger.warning("stream failed: %s", reason.value)
        self._set_stage(StreamStage.FAILED)
        self.failed.emit(reason.value, FAILURE_MESSAGES[reason])

    def _set_stage(self, stage: StreamStage) -> None:
        if stage is not self._stage:
            self._stage = stage
            self.stage_changed.emit(stage.value)

"""`NativeStreamPlayer`: the avatar's Pixel Streaming stream without a browser.

It does what RAVATAR's stream page does (PROTOCOL.md section 3): fetches the page with the
token, speaks Epic's signalling, answers the streamer's offer with aiortc (H.264 preferred, VP8
accepted), shows the video through a `QVideoSink` and plays the audio itself.

Use (GUI thread):

    player = NativeStreamPlayer()
    view = NativeVideoView(player.video_sink)          # ui.native_video
    view.display_area_changed.connect(player.set_display_area)  # frames made at the shown size
    player.session_started.connect(...)                # like the web view's stream events
    player.start(stream_url_with_token(streaming_url, jwt))
    ...
    await player.stop()                                # bounded; then end the license

Signals (all delivered on the GUI thread):
- `session_started()` — the first decoded frame; again after each reconnect's first frame;
- `session_closed(str reason)` — the stream ended for good (`streamerDisconnected`, access
  refused, codec not decodable, reconnects exhausted); not emitted for `stop()`;
- `stats_updated(StreamStats)` — about once a second (`stream.stats.StreamStats`);
- `first_frame(float seconds)` — once per `start()`: seconds from `start()` to the first frame;
- `avatar_audio_started()` — the avatar's voice rose above ~-30 dBFS after >= 300 ms of quiet,
  judged on the audio as it is played (for per-turn latency);
- `problem(str kind, str message)` — for the user: "access", "codec", "connection", "audio".

Audio: `set_volume(0..1)`, `set_muted(bool)`, `set_output_device(id | None)` (ids from
`output_devices()`), `add_audio_tap(callback)` for an echo canceller (exact samples played and
when; called on the audio device's thread).

Microphone (the stream page's voice route): `set_sends_microphone(True)` before `start()` answers
the streamer's audio send-receive with our microphone track; `push_microphone(samples)` (16 kHz
mono int16, any thread) feeds it and `set_microphone_open(bool)` opens it (closed: silence).

Everything with I/O runs on the player's own thread and asyncio loop (stream.worker); the GUI
thread only puts the newest frame into the sink, once per notification.
"""

from __future__ import annotations

import asyncio
import logging
import time

import numpy as np
import numpy.typing as npt
from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtMultimedia import QVideoFrame, QVideoSink

from ravatar_live.audio.capture import AudioDevice
from ravatar_live.stream.audio_output import list_output_devices
from ravatar_live.stream.audio_playback import PlaybackTap
from ravatar_live.stream.frame_mailbox import LatestMailbox
from ravatar_live.stream.microphone_track import MicrophoneFeed
from ravatar_live.stream.stats import StreamStats
from ravatar_live.stream.video_frames import DisplayArea
from ravatar_live.stream.worker import PlayerSettings, PlayerWorker

logger = logging.getLogger(__name__)


class _WorkerSignals(QObject):
    """The worker's events as Qt signals. Emitted on the worker's (or audio) thread; connected
    to the player's slots, which live on the GUI thread, so Qt queues every delivery."""

    frame_ready_signal = Signal()
    session_started_signal = Signal()
    first_frame_signal = Signal(float)
    session_closed_signal = Signal(str)
    stats_signal = Signal(object)
    audio_started_signal = Signal()
    problem_signal = Signal(str, str)

    # PlayerEvents, called from the worker's threads.
    def frame_ready(self) -> None:
        self.frame_ready_signal.emit()

    def session_started(self) -> None:
        self.session_started_signal.emit()

    def first_frame(self, seconds: float) -> None:
        self.first_frame_signal.emit(seconds)

    def session_closed(self, reason: str) -> None:
        self.session_closed_signal.emit(reason)

    def stats(self, stats: object) -> None:
        self.stats_signal.emit(stats)

    def audio_started(self) -> None:
        self.audio_started_signal.emit()

    def problem(self, kind: str, message: str) -> None:
        self.problem_signal.emit(kind, message)


class NativeStreamPlayer(QObject):
    """See the module docstring."""

    session_started = Signal()
    session_closed = Signal(str)
    stats_updated = Signal(object)  # StreamStats
    first_frame = Signal(float)
    avatar_audio_started = Signal()
    problem = Signal(str, str)

    def __init__(self, settings: PlayerSettings | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.settings = settings or PlayerSettings()
        self._sink = QVideoSink(self)
        self._mailbox: LatestMailbox[QVideoFrame] = LatestMailbox()
        self._display_area = DisplayArea()
        self._worker: PlayerWorker | None = None
        # One bridge per worker: a stopped worker's late events are recognised by their sender.
        self._signals: _WorkerSignals | None = None
        self._volume = 1.0
        self._muted = False
        self._output_device: str | None = None
        self._taps: list[PlaybackTap] = []
        self._sends_microphone = False
        self._microphone_open = False
        self.latest_stats: StreamStats | None = None

    @property
    def video_sink(self) -> QVideoSink:
        """The sink the view shows; it receives one QVideoFrame (RGB) per shown frame."""
        return self._sink

    def set_display_area(self, width: int, height: int) -> None:
        """The view's size in device pixels: frames are converted at the size they are shown."""
        self._display_area.set(width, height)

    @property
    def running(self) -> bool:
        return self._worker is not None

    @property
    def frames_dropped(self) -> int:
        """Frames replaced before the GUI thread showed them (it was busy)."""
        return self._mailbox.dropped

    def start(self, url_with_token: str) -> None:
        """Start playing the stream page at `url_with_token` (token as `token=`; never logged).
        A running stream is dropped first (without waiting for its thread)."""
        if self._worker is not None:
            logger.info("native player restarted; the previous stream is dropped")
            self._worker.request_stop()
            self._forget_signals()
        self._mailbox = LatestMailbox()
        self.latest_stats = None
        # No parent, never deleted by the player: a stopping worker may still emit on it from
        # its thread (deleting it under the worker crashed the process). The worker's reference
        # keeps it alive as long as needed; the slots ignore a forgotten bridge (`_current`).
        signals = self._signals = _WorkerSignals()
        signals.frame_ready_signal.connect(self._show_newest_frame)
        signals.session_started_signal.connect(self._on_session_started)
        signals.first_frame_signal.connect(self._on_first_frame)
        signals.session_closed_signal.connect(self._on_session_closed)
        signals.stats_signal.connect(self._on_stats)
        signals.audio_started_signal.connect(self._on_audio_started)
        signals.problem_signal.connect(self._on_problem)
        worker = PlayerWorker(url_with_token, signals, self._mailbox, self.settings,
                              started_at=time.monotonic(), output_device=self._output_device,
                              send_microphone=self._sends_microphone,
                              display_area=self._display_area)
        worker.microphone.set_open(self._microphone_open)
        worker.playback.set_volume(self._volume)
        worker.playback.set_muted(self._muted)
        for tap in self._taps:
            worker.playback.add_tap(tap)
        self._worker = worker
        worker.start()
        logger.info("native stream player started")

    async def stop(self, timeout_s: float = 1.0) -> bool:
        """Close the peer, sockets, audio and the player's thread; wait at most `timeout_s`.
        True when everything closed in time (the thread is a daemon either way)."""
        worker, self._worker = self._worker, None
        if worker is None:
            return True
        self._forget_signals()
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()

        def resolve() -> None:
            if not done.done():
                done.set_result(None)

        def finished() -> None:  # on the worker's thread
            loop.call_soon_threadsafe(resolve)

        worker.request_stop()
        worker.when_finished(finished)
        try:
            await asyncio.wait_for(done, timeout_s)
        except TimeoutError:
            logger.warning("the native stream player did not stop within %.1f s", timeout_s)
            return False
        worker.thread.join(timeout=0.2)  # its last lines after the callback; near-instant
        self._mailbox.clear()
        self._sink.setVideoFrame(QVideoFrame())
        return not worker.thread.is_alive()

    def _forget_signals(self) -> None:
        self._signals = None  # its late events are ignored; the worker lets it go when done

    def _current(self) -> bool:
        """True when the slot being run was signalled by the running worker."""
        return self._signals is not None and self.sender() is self._signals

    # --- audio -----------------------------------------------------------------------------------
    def set_volume(self, volume: float) -> None:
        """The avatar's loudness, 0 (silent) .. 1 (as streamed)."""
        self._volume = min(1.0, max(0.0, float(volume)))
        if self._worker is not None:
            self._worker.playback.set_volume(self._volume)

    def set_muted(self, muted: bool) -> None:
        self._muted = bool(muted)
        if self._worker is not None:
            self._worker.playback.set_muted(self._muted)

    def set_output_device(self, device_id: str | None) -> None:
        """Play on that output (an id from `output_devices()`); None = the system default."""
        self._output_device = device_id
        if self._worker is not None:
            self._worker.set_output_device(device_id)

    def output_devices(self) -> list[AudioDevice]:
        """The output devices of the preferred audio backend that works here (may be empty).
        Blocks briefly (PortAudio initialises): call it when the user opens a device list."""
        return list_output_devices(self.settings.audio_backends)

    def add_audio_tap(self, tap: PlaybackTap) -> None:
        """Receive every block played (samples after volume/mute, and when it plays); runs on
        the audio device's thread and must return at once."""
        self._taps.append(tap)
        if self._worker is not None:
            self._worker.playback.add_tap(tap)

    # --- microphone -----------------------------------------------------------------------------
    @property
    def sends_microphone(self) -> bool:
        return self._sends_microphone

    def set_sends_microphone(self, on: bool) -> None:
        """Whether the next `start()` offers our microphone to the streamer."""
        self._sends_microphone = on

    def set_microphone_open(self, is_open: bool) -> None:
        """Send the pushed microphone audio (True) or silence (False)."""
        self._microphone_open = is_open
        if self._worker is not None:
            self._worker.microphone.set_open(is_open)

    def push_microphone(self, samples: npt.NDArray[np.int16]) -> None:
        """Captured audio, 16 kHz mono int16, for the microphone track (any thread)."""
        worker = self._worker
        if worker is not None and self._sends_microphone:
            worker.microphone.push(samples)

    @property
    def microphone(self) -> MicrophoneFeed | None:
        """The running stream's microphone feed (its counters say what went out), or None."""
        return self._worker.microphone if self._worker is not None else None

    # --- from the worker (queued onto this thread) -----------------------------------------------
    @Slot()
    def _show_newest_frame(self) -> None:
        frame = self._mailbox.take()
        if frame is not None and self._current():
            self._sink.setVideoFrame(frame)

    @Slot()
    def _on_session_started(self) -> None:
        if self._current():
            self.session_started.emit()

    @Slot(float)
    def _on_first_frame(self, seconds: float) -> None:
        if self._current():
            self.first_frame.emit(seconds)

    @Slot(str)
    def _on_session_closed(self, reason: str) -> None:
        if self._current():
            self.session_closed.emit(reason)

    @Slot(object)
    def _on_stats(self, stats: object) -> None:
        if self._current() and isinstance(stats, StreamStats):
            self.latest_stats = stats
            self.stats_updated.emit(stats)

    @Slot()
    def _on_audio_started(self) -> None:
        if self._current():
            self.avatar_audio_started.emit()

    @Slot(str, str)
    def _on_problem(self, kind: str, message: str) -> None:
        if self._current():
            self.problem.emit(kind, message)

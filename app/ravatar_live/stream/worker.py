"""The native player's worker: its own thread and asyncio loop, running everything with I/O.

On that thread: the aiohttp session (own cookie jar), the stream page fetch, the signalling,
the aiortc peer (RTP/SRTP in Python), picture conversion to QVideoFrame and the audio hand-off.
aiortc decodes on its own decoder threads; the audio device pulls on its own. The GUI thread only
takes the newest frame from the mailbox when told (`PlayerEvents.frame_ready`).

Reconnect like the stream page: when the socket drops or the peer fails, try again as `reconnect`
says (backoff.STREAM_RECONNECT: 0.5, 1, 2, 4 s); a connection that showed frames starts the
series afresh. Then give up: `session_closed`. `streamerDisconnected`, a refused access and an
undecodable codec end it at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, cast

import aiohttp
import av
from PySide6.QtMultimedia import QVideoFrame

from ravatar_live.api.backoff import STREAM_RECONNECT, BackoffPolicy
from ravatar_live.stream.access import open_stream_page
from ravatar_live.stream.audio_output import DEFAULT_BACKENDS, AudioOutput, open_output
from ravatar_live.stream.audio_playback import AudioPlayback
from ravatar_live.stream.connection import ConnectionSettings, StreamConnection
from ravatar_live.stream.errors import (
    PlaybackError,
    StreamAccessError,
    StreamEndedError,
    StreamUnavailableError,
    UndecodableStreamError,
)
from ravatar_live.stream.frame_mailbox import LatestMailbox
from ravatar_live.stream.microphone_track import MicrophoneFeed
from ravatar_live.stream.peer import ReceivingPeer
from ravatar_live.stream.stats_collector import StatsCollector
from ravatar_live.stream.video_frames import DisplayArea, FrameConversionError, FrameConverter
from ravatar_live.tasks import TaskSet

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PlayerSettings:
    """How the native player connects and plays (defaults follow the stream page)."""

    connection: ConnectionSettings = field(default_factory=ConnectionSettings)
    reconnect: BackoffPolicy = STREAM_RECONNECT
    page_timeout_s: float = 10.0
    stats_interval_s: float = 1.0
    # Output backends in order of preference; () plays no audio (levels and onsets still work).
    audio_backends: tuple[str, ...] = DEFAULT_BACKENDS


class PlayerEvents(Protocol):
    """What the worker reports. Called on the worker's thread (or the audio device's, for
    `audio_started`): implementations must only hand off (a queued Qt signal) and return."""

    def frame_ready(self) -> None: ...

    def session_started(self) -> None: ...

    def first_frame(self, seconds: float) -> None: ...

    def session_closed(self, reason: str) -> None: ...

    def stats(self, stats: object) -> None: ...

    def audio_started(self) -> None: ...

    def problem(self, kind: str, message: str) -> None: ...


class PlayerWorker:
    """One run of the player, start to stop. Not restartable: make a new one."""

    def __init__(self, url_with_token: str, events: PlayerEvents,
                 mailbox: LatestMailbox[QVideoFrame], settings: PlayerSettings, *,
                 started_at: float, output_device: str | None = None,
                 send_microphone: bool = False, display_area: DisplayArea | None = None) -> None:
        self._url = url_with_token  # never log it
        self._events = events
        self._mailbox = mailbox
        self._frames = FrameConverter(display_area)
        self._settings = settings
        self._started_at = started_at
        self._output_device = output_device
        self.playback = AudioPlayback(on_onset=events.audio_started)
        #: The user's voice for the streamer (the stream page's voice route); thread-safe.
        #: Only offered to the streamer when `send_microphone` is set.
        self.microphone = MicrophoneFeed()
        self._send_microphone = send_microphone
        self._output: AudioOutput | None = None
        self._stats = StatsCollector()
        self._peer: ReceivingPeer | None = None
        self._state = "new"
        self._connection_frames = 0
        self._first_frame_reported = False
        self._conversion_failed = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._main: asyncio.Task[None] | None = None
        self._tasks = TaskSet("native stream player")
        self._lock = threading.Lock()
        self._stop_requested = False
        self._finished = False
        self._finish_callbacks: list[Callable[[], None]] = []
        self.thread = threading.Thread(target=self._thread_main, name="native-stream-player",
                                       daemon=True)

    # --- any thread ------------------------------------------------------------------------------
    def start(self) -> None:
        self.thread.start()

    def request_stop(self) -> None:
        """Ask the worker to close everything and end its thread (returns at once)."""
        with self._lock:
            self._stop_requested = True
            loop, main = self._loop, self._main
        if loop is not None and main is not None:
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: nothing to stop
                loop.call_soon_threadsafe(main.cancel)

    def when_finished(self, callback: Callable[[], None]) -> None:
        """Call `callback` (on the worker's thread) when it has finished, or now if it has."""
        with self._lock:
            if not self._finished:
                self._finish_callbacks.append(callback)
                return
        callback()

    def set_output_device(self, device_id: str | None) -> None:
        """Play on `device_id` (None = the system default) from now on."""
        with self._lock:
            self._output_device = device_id
            loop = self._loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._reopen_output)

    # --- the worker's thread ---------------------------------------------------------------------
    def _thread_main(self) -> None:
        loop = asyncio.new_event_loop()
        try:
            with contextlib.suppress(asyncio.CancelledError):  # a stop while it was closing
                loop.run_until_complete(self._run())
            loop.run_until_complete(loop.shutdown_asyncgens())
            # Its resolver threads too: stop() promises no thread is left behind.
            base_loop = cast(asyncio.BaseEventLoop, loop)  # the timeout is not in the ABC's stub
            loop.run_until_complete(base_loop.shutdown_default_executor(timeout=1.0))
        except Exception:  # closing failed: log it; the finish callbacks must still run
            logger.exception("the native stream player did not close cleanly")
        finally:
            with self._lock:
                self._loop = None
            loop.close()
            with self._lock:
                self._finished = True
                callbacks, self._finish_callbacks = self._finish_callbacks, []
            for callback in callbacks:
                callback()

    async def _run(self) -> None:
        with self._lock:
            if self._stop_requested:
                return
            self._loop = asyncio.get_running_loop()
            self._main = asyncio.current_task()
        self._open_output()
        self._tasks.spawn(self._report_stats())
        try:
            async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
                await self._play(http)
        except asyncio.CancelledError:
            logger.info("native stream player stopped")
        except Exception:  # a bug, not a stream event: still end the session visibly
            logger.exception("the native stream player failed")
            message = "The stream player stopped because of an internal error."
            self._events.problem("connection", message)
            self._events.session_closed(message)
        finally:
            self._state = "closed"
            try:
                await self._tasks.cancel_and_wait()
            finally:  # even when a stop arrives while this closes
                self._close_output()

    async def _play(self, http: aiohttp.ClientSession) -> None:
        failures = 0
        streamer_id: str | None = None
        policy = self._settings.reconnect
        while True:
            self._state = "connecting" if failures == 0 else "reconnecting"
            connection: StreamConnection | None = None
            try:
                url = await open_stream_page(http, self._url, self._settings.page_timeout_s)
                connection = StreamConnection(
                    http, url, self, self._settings.connection, streamer_id,
                    microphone=self.microphone if self._send_microphone else None)
                await connection.run()
            except (StreamAccessError, UndecodableStreamError) as exc:
                kind = "access" if isinstance(exc, StreamAccessError) else "codec"
                logger.warning("native stream closed: %s", exc)
                self._events.problem(kind, exc.user_message)
                self._events.session_closed(exc.user_message)
                return
            except StreamEndedError as exc:
                logger.info("native stream ended: %s", exc)
                self._events.session_closed(exc.user_message)
                return
            except StreamUnavailableError as exc:
                if connection is not None:
                    streamer_id = connection.streamer_id
                if self._connection_frames > 0:
                    failures = 0  # it was playing: start the back-off series afresh
                self._connection_frames = 0
                failures += 1
                if policy.gives_up(failures):
                    message = (f"{exc.user_message} The stream could not be reconnected after "
                               f"{failures - 1} attempts.")
                    logger.warning("native stream given up: %s", exc)
                    self._events.problem("connection", message)
                    self._events.session_closed(message)
                    return
                delay = policy.delay(failures)
                logger.warning("native stream interrupted (%s); reconnecting in %.1f s "
                               "(attempt %d)", exc, delay, failures)
                self._state = "reconnecting"
                self._peer = None
                await asyncio.sleep(delay)

    # --- connection hooks (this loop) ------------------------------------------------------------
    def on_video(self, frame: av.VideoFrame) -> None:
        self._stats.count_frame(frame.width, frame.height)
        try:
            video = self._frames.convert(frame)
        except FrameConversionError as exc:
            if not self._conversion_failed:
                logger.warning("a video frame could not be handed to Qt: %s", exc)
                self._conversion_failed = True
            return
        if self._mailbox.put(video):
            self._events.frame_ready()
        self._connection_frames += 1
        if self._connection_frames == 1:
            self._state = "connected"
            self._events.session_started()
            if not self._first_frame_reported:
                self._first_frame_reported = True
                seconds = time.monotonic() - self._started_at
                logger.info("native stream: first frame after %.2f s (%s %dx%d)", seconds,
                            self._peer.video_codec if self._peer else "?", frame.width,
                            frame.height)
                self._events.first_frame(seconds)

    def on_audio(self, frame: av.AudioFrame) -> None:
        if self._output is not None:
            self.playback.push(frame)
        else:
            self.playback.analyse_unplayed(frame)

    def on_peer(self, peer: ReceivingPeer) -> None:
        self._peer = peer
        self._stats.new_connection()
        self.playback.reset()

    def on_rtt(self, milliseconds: float) -> None:
        self._stats.rtt_ms = milliseconds

    # --- audio output ----------------------------------------------------------------------------
    def _open_output(self) -> None:
        backends = self._settings.audio_backends
        if not backends:
            return
        with self._lock:
            device_id = self._output_device
        try:
            self._output, device = open_output(device_id, self.playback.render, backends)
        except PlaybackError as exc:
            logger.warning("the avatar's audio cannot be played: %s", exc)
            self._events.problem("audio", f"{exc.user_message} The video still plays.")
            return
        logger.info("avatar audio output: %s (%s)", device.name, self._output.backend_name)

    def _close_output(self) -> None:
        output, self._output = self._output, None
        if output is not None:
            output.close()

    def _reopen_output(self) -> None:
        self._close_output()
        self.playback.reset()
        self._open_output()

    async def _report_stats(self) -> None:
        while True:
            await asyncio.sleep(self._settings.stats_interval_s)
            peer = self._peer
            rtc = await peer.stats() if peer is not None else []
            state = self._state
            if peer is not None and state != "reconnecting":
                state = peer.state  # "connecting", "connected", "failed", ...
            self._events.stats(self._stats.snapshot(
                state=state, video_codec=peer.video_codec if peer else None,
                audio_codec=peer.audio_codec if peer else None,
                offered_video=peer.offered_video if peer else (), rtc_stats=rtc,
                dropped=self._mailbox.dropped, audio_level=self.playback.level))

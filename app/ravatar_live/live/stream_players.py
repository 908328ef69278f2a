"""Shows a live session's stream with the right player, and switches when one cannot show it.

Two players show the same stream (PROTOCOL.md section 3): the web view (RAVATAR's own page in
QtWebEngine; the window does the showing, on `show_web` / `unload_web`) and the native player
(`stream.player.NativeStreamPlayer`: aiortc + libavcodec, created on first use so the app starts
without loading them; the window shows its `video_sink` on `show_native`). Both feed the same
`StreamMonitor` (stages: playing / closed) and `StreamHealth` (figures, first frame, voice onset,
problems); only the active player's events count.

"auto" starts with what worked last time for the stream's host, else the web view, and switches
at once to the other player when the active one cannot show the video: the web view refuses the
codec (H.264 in the PyPI QtWebEngine) or shows no frame in time; the native player cannot
decode the codec. Each player is tried once per session; one calm line in the conversation says
what happened. A problem no switch can solve goes out on `problem` for the banner. "web" and
"native" never switch.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal, Slot

from ravatar_live.audio.far_end_web import FAR_END_PREFIX
from ravatar_live.live.player_choice import (
    PlayerChoice,
    PlayerKind,
    PlayerMemory,
    first_player,
    stream_host,
)
from ravatar_live.live.stream_health import StreamHealth, codec_label
from ravatar_live.live.stream_monitor import StreamMonitor
from ravatar_live.qt_libraries import load_qt_multimedia
from ravatar_live.stream.stats import StreamStats
from ravatar_live.tasks import TaskSet

if TYPE_CHECKING:
    from ravatar_live.live.session import LiveStream
    from ravatar_live.stream.player import NativeStreamPlayer
    from ravatar_live.stream.worker import PlayerSettings

logger = logging.getLogger(__name__)

NATIVE_PLAYER_MODULE = "ravatar_live.stream.player"
NATIVE_STOP_S = 0.45  # within the session's stream teardown budget (session.STREAM_TEARDOWN_S)
# Web view problems the native player can solve, and the other way round.
_WEB_PROBLEMS_FOR_NATIVE = ("codec", "no-frames")
_NATIVE_PROBLEMS_FOR_WEB = ("codec",)


@dataclass(frozen=True)
class PlayerSwitch:
    """One switch during a session: from which player to which, why, and when (monotonic)."""

    leaving: PlayerKind | None
    to: PlayerKind
    reason: str
    at: float


class StreamPlayers(QObject):
    """See the module docstring."""

    show_web = Signal(str, int, int)  # stream URL (token inside: never log it), width, height
    show_native = Signal(object)  # NativeStreamPlayer: show its video_sink in the stream area
    unload_web = Signal()  # the web view lets go of the stream page (its sound stops too)
    player_changed = Signal(str)  # PlayerKind value now showing the stream ("" when none)
    web_muted = Signal(bool)  # the web view's whole page sound on/off (the user's mute)
    web_gain = Signal(float)  # the avatar's loudness in the web view's player, 0..1
    problem = Signal(str, str)  # kind, plain words: the stream cannot be shown here
    problem_cleared = Signal()
    web_far_end = Signal(str)  # the web view's tap of the avatar's audio ("ravatar-farend ...")

    def __init__(self, monitor: StreamMonitor, health: StreamHealth, *,
                 tell: Callable[[str], None], memory: PlayerMemory | None = None,
                 native_settings: PlayerSettings | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._monitor = monitor
        self._health = health
        self._tell = tell
        self.memory = memory or PlayerMemory()
        self._native_settings = native_settings
        self._native: NativeStreamPlayer | None = None
        self.choice = PlayerChoice.AUTO
        self.active: PlayerKind | None = None
        self._stream: LiveStream | None = None
        self._tried: set[PlayerKind] = set()
        #: The switches of the current session, oldest first.
        self.switches: list[PlayerSwitch] = []
        self._volume = 1.0
        self._muted = False
        self._yields = False  # the avatar pauses for the user (barge-in)
        self.avatar_pauses = 0  # times a player paused the avatar for the user
        self._output_device: str | None = None
        self._send_microphone = False
        self._tasks = TaskSet("stream players")
        #: Loading the native player's modules ahead of its first stream (see `prepare`).
        self.warm_up: asyncio.Task[object] | None = None
        health.problem.connect(self._on_health_problem)
        health.problem_cleared.connect(self.problem_cleared)
        health.first_frame.connect(self._on_first_frame)

    # --- the session's stream ------------------------------------------------------------------
    @property
    def native(self) -> NativeStreamPlayer | None:
        """The native player, once it was first needed."""
        return self._native

    def prepare(self) -> None:
        """A session is being started: when it will likely show on the native player (the
        user's choice, or what worked for the stream host remembered last), load the player's
        modules (aiortc, PyAV, Qt Multimedia: ~0.5 s) on a worker thread while the license is
        requested (or, at a start with --start, while the app connects), so the granted stream
        need not wait for them. Only for a service across the network: demo mode's simulator
        starts the stream in this process, and the import only competes with it (measured: no
        gain there)."""
        if self._native is not None or self.warm_up is not None:
            return
        if first_player(self.choice, self.memory.latest()) is PlayerKind.NATIVE:
            logger.info("loading the native player while the session starts")
            load_qt_multimedia()  # never on the worker: see ravatar_live.qt_libraries
            self.warm_up = self._tasks.spawn(asyncio.to_thread(importlib.import_module,
                                                               NATIVE_PLAYER_MODULE))

    @Slot(object)
    def begin(self, stream: LiveStream) -> None:
        """A session went live: show its stream with the first player for its host."""
        self._stream = stream
        self._tried = set()
        self.switches = []
        host = stream_host(stream.url)
        kind = first_player(self.choice, self.memory.recall(host))
        logger.info("showing the stream with the %s player (setting %s)", kind.value,
                    self.choice.value)
        self._activate(kind)

    async def stop(self) -> None:
        """The session ends: every player lets go of the stream (the native player closes its
        peer connection, sockets and thread, bounded), before the license is ended."""
        self._stream = None
        self.active = None
        self.unload_web.emit()
        native = self._native
        if native is not None and native.running:
            await native.stop(NATIVE_STOP_S)
        self.player_changed.emit("")

    @Slot()
    def reset(self) -> None:
        """No stream any more (the session ended or failed): forget it; a native player still
        running stops in the background."""
        self._stream = None
        self.active = None
        self._health.reset()
        native = self._native
        if native is not None and native.running:
            self._tasks.spawn(native.stop(NATIVE_STOP_S))

    def show_web_directly(self) -> str | None:
        """The web view loads the stream page as its top page (a server that refuses to be
        framed): restart the stream's clocks for the web player. The URL, or None."""
        if self._stream is None:
            return None
        self.active = PlayerKind.WEB
        self._monitor.begin()
        self._health.begin()
        return self._stream.url

    # --- audio ---------------------------------------------------------------------------------
    def set_volume(self, volume: float) -> None:
        """The avatar's loudness in both players, 0..1."""
        self._volume = min(1.0, max(0.0, volume))
        if self._native is not None:
            self._native.set_volume(self._volume)
        self._apply_web_gain()

    def set_muted(self, muted: bool) -> None:
        """Silence the avatar in both players."""
        self._muted = muted
        self._apply_silence()
        self.web_muted.emit(muted)
        self._apply_web_gain()

    def set_avatar_yields(self, yields: bool) -> None:
        """Pause the avatar's sound while the user talks over it (barge-in; see audio/voice.py),
        whatever the user's own mute. Both players hand the echo canceller exactly what they
        play, silence included: the native player's playback tap, and the web view's stream
        frame, which plays the avatar's track itself after its volume stage and taps it there
        (resources/stream_stats.js). (A pause of the page's own sound, with the tap before it,
        made the reference and the sound fall out of step: 8-18 pauses in 10 replies with no
        user speech.)"""
        if yields == self._yields:
            return
        self._yields = yields
        if yields and self.active is not None:
            self.avatar_pauses += 1
        self._apply_silence()
        self._apply_web_gain()

    def _avatar_silenced(self) -> bool:
        return self._muted or self._yields

    def _apply_silence(self) -> None:
        if self._native is not None:
            self._native.set_muted(self._avatar_silenced())

    def _apply_web_gain(self) -> None:
        self.web_gain.emit(0.0 if self._avatar_silenced() else self._volume)

    def set_output_device(self, device_id: str | None) -> None:
        """Where the native player plays the avatar (None: the system default)."""
        self._output_device = device_id or None
        if self._native is not None:
            self._native.set_output_device(self._output_device)

    @property
    def muted(self) -> bool:
        return self._muted

    # --- microphone ----------------------------------------------------------------------------
    def set_microphone_route(self, on: bool) -> None:
        """The native player offers the streamer our microphone track (the stream page's voice
        route). It is part of the WebRTC answer, so a native player showing the stream now
        reconnects to apply it."""
        if on == self._send_microphone:
            return
        self._send_microphone = on
        native, stream = self._native, self._stream
        if native is None:
            return
        native.set_sends_microphone(on)
        if self.active is PlayerKind.NATIVE and stream is not None and native.running:
            logger.info("the native player reconnects to %s its microphone track",
                        "add" if on else "drop")
            native.start(stream.url)

    # --- the web view's events (the window forwards them) --------------------------------------
    @Slot(str)
    def on_web_message(self, data: str) -> None:
        """A string the stream page posted (or the stats probe's report)."""
        if data.startswith(FAR_END_PREFIX):  # the avatar's audio, for echo cancellation
            if self.active is PlayerKind.WEB:
                self.web_far_end.emit(data)
            return
        if self.active is PlayerKind.WEB:
            self._monitor.on_page_message(data)
            self._health.on_page_message(data)

    @Slot()
    def on_web_framing_refused(self) -> None:
        if self.active is PlayerKind.WEB:
            self._monitor.on_framing_refused()

    # --- switching -----------------------------------------------------------------------------
    def _activate(self, kind: PlayerKind) -> None:
        stream = self._stream
        if stream is None:
            return
        self.active = kind
        self._tried.add(kind)
        self._monitor.begin()
        self._health.begin()
        if kind is PlayerKind.WEB:
            self.web_muted.emit(self._muted)
            self._apply_web_gain()
            self.show_web.emit(stream.url, stream.size.width, stream.size.height)
        else:
            native = self._native_player()
            native.start(stream.url)
            self.show_native.emit(native)
        self.player_changed.emit(kind.value)

    def _switch(self, to: PlayerKind, reason: str, notice: str) -> None:
        leaving = self.active
        logger.info("switching the stream player from %s to %s (%s)",
                    leaving.value if leaving else "none", to.value, reason)
        self.switches.append(PlayerSwitch(leaving, to, reason, time.monotonic()))
        if leaving is PlayerKind.WEB:
            self.unload_web.emit()
        elif leaving is PlayerKind.NATIVE and self._native is not None:
            self._tasks.spawn(self._native.stop(NATIVE_STOP_S))
        self._activate(to)
        self._tell(notice)

    def _can_switch_to(self, kind: PlayerKind) -> bool:
        return (self.choice is PlayerChoice.AUTO and self._stream is not None
                and kind not in self._tried)

    @Slot(str, str)
    def _on_health_problem(self, kind: str, message: str) -> None:
        if self.active is PlayerKind.WEB and kind in _WEB_PROBLEMS_FOR_NATIVE \
                and self._can_switch_to(PlayerKind.NATIVE):
            self._switch(PlayerKind.NATIVE, kind, self._web_to_native_notice(kind))
            return
        self.problem.emit(kind, message)

    def _web_to_native_notice(self, kind: str) -> str:
        latest = self._health.latest
        if kind == "codec":
            codecs = (latest.video_codec,) if latest and latest.video_codec else (
                latest.offered_video if latest else ())
            named = " or ".join(codec_label(c) for c in codecs) if codecs else "its"
            return (f"The built-in browser cannot play this stream's {named} video, so the "
                    "app's own player shows it.")
        return (f"The built-in browser showed no video in {self._health.no_frames_timeout_s:g} "
                "seconds, so the app's own player shows the stream.")

    @Slot(str, str)
    def _on_native_problem(self, kind: str, message: str) -> None:
        if self.sender() is not self._native or self.active is not PlayerKind.NATIVE:
            return
        if kind == "audio":  # the video still plays: a notice, not a failure
            self._tell(message)
            return
        if kind in _NATIVE_PROBLEMS_FOR_WEB and self._can_switch_to(PlayerKind.WEB):
            self._switch(PlayerKind.WEB, kind, "The app's own player cannot play this "
                                               "stream's video, so the built-in browser "
                                               "shows it.")
            return
        self.problem.emit(kind, message)

    @Slot(float)
    def _on_first_frame(self, _seconds: float) -> None:
        kind, stream = self.active, self._stream
        if kind is None or stream is None:
            return
        if self.switches:
            logger.info("the %s player showed its first frame %.2f s after the switch",
                        kind.value, time.monotonic() - self.switches[-1].at)
        self.memory.remember(stream_host(stream.url), kind)

    # --- the native player's events ------------------------------------------------------------
    def _native_player(self) -> NativeStreamPlayer:
        if self._native is None:
            # Imported on first use (or by `prepare`): aiortc, PyAV and Qt Multimedia cost
            # ~0.5 s, and memory a session on the web view never needs.
            from ravatar_live.stream.player import NativeStreamPlayer  # noqa: PLC0415

            native = NativeStreamPlayer(self._native_settings, parent=self)
            native.set_volume(self._volume)
            native.set_muted(self._avatar_silenced())
            native.set_output_device(self._output_device)
            native.set_sends_microphone(self._send_microphone)
            native.session_started.connect(self._on_native_started)
            native.session_closed.connect(self._on_native_closed)
            native.stats_updated.connect(self._on_native_stats)
            native.first_frame.connect(self._on_native_first_frame)
            native.avatar_audio_started.connect(self._on_native_audio_onset)
            native.problem.connect(self._on_native_problem)
            self._native = native
        return self._native

    @Slot()
    def _on_native_started(self) -> None:
        if self.active is PlayerKind.NATIVE:
            self._monitor.on_started()

    @Slot(str)
    def _on_native_closed(self, reason: str) -> None:
        if self.active is PlayerKind.NATIVE:
            logger.info("the native player closed the stream: %s", reason)
            self._monitor.on_closed()

    @Slot(object)
    def _on_native_stats(self, stats: object) -> None:
        if self.active is PlayerKind.NATIVE and isinstance(stats, StreamStats):
            self._health.on_stats(stats)

    @Slot(float)
    def _on_native_first_frame(self, seconds: float) -> None:
        native = self._native
        if self.active is PlayerKind.NATIVE and native is not None:
            latest = native.latest_stats
            self._health.on_first_frame(
                latest.video_codec if latest else None, latest.width if latest else None,
                latest.height if latest else None,
                f"native player, {seconds:.2f} s after it started")

    @Slot()
    def _on_native_audio_onset(self) -> None:
        if self.active is PlayerKind.NATIVE:
            self._health.on_audio_onset()

"""The stream page's voice route: the avatar hears the user through the stream's own WebRTC
microphone, which the app opens only while the user talks.

The wish: the microphone is open while a live session shows the stream, the user has not muted
it, and holds to talk, records, or is hands-free. Otherwise it is closed, and it starts closed.

- Web view (RAVATAR's page, PROTOCOL.md section 3): the wish goes to the page as
  `rvo-ps-mic-mute` / `rvo-ps-mic-unmute` (`web_command`). The page answers every command with
  `ravatar-ps-mic-state` and announces every new microphone track with `ravatar-ps-mic-ready`
  (both arrive on `on_mic_report`, parsed tolerantly: `parse_mic_report`). Until a state report
  confirms the current wish, the wish is re-stated every `restate_s` (an older page never
  answers; a lost message is repeated); a page that stays silent is named once, plainly. A
  report that the page could not apply the wish (`applied: false`, no microphone track) is said
  once per page in the conversation. A ready report whose track disagrees with the wish (a
  reconnect) is corrected at once; the page itself keeps the last command for new tracks.
- Native player: the wish opens or closes its microphone track (`native_open`; the audio comes
  from `live.native_mic_feed`).

`state_changed` drives the talk bar while this route is on: "recording" (held or recording),
"listening" (hands-free), "idle".
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Literal

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from ravatar_live.live.player_choice import PlayerKind

logger = logging.getLogger(__name__)

MUTE: Final = "rvo-ps-mic-mute"
UNMUTE: Final = "rvo-ps-mic-unmute"
READY: Final = "ravatar-ps-mic-ready"
STATE: Final = "ravatar-ps-mic-state"
RESTATE_S: Final = 2.0
#: A page that has not answered a single command this long after it loaded is an older page.
UNANSWERED_S: Final = 6.0
MAX_TEXT: Final = 200

UNANSWERED_NOTICE: Final = (
    "The stream page does not confirm its microphone commands (an older page), so the app "
    "repeats them every {seconds:g} seconds. If the avatar does not hear you, choose the app "
    "microphone in Settings › Voice.")
NO_TRACK_NOTICE: Final = (
    "The stream page has no microphone, so the avatar cannot hear you through it. Check that a "
    "microphone is connected and allowed, or choose the app microphone in Settings › Voice.")
NOT_OPENED_NOTICE: Final = "The stream page could not switch its microphone on."
NOT_MUTED_NOTICE: Final = ("The stream page could not mute its microphone: the avatar may "
                           "still hear you. End the session to be sure.")

Requested = Literal["mute", "unmute"]


@dataclass(frozen=True)
class MicReport:
    """A `ravatar-ps-mic-ready` or `-state` report; None where the page left a field out or
    sent something of the wrong type."""

    name: str  # READY or STATE
    reason: str | None = None
    requested: Requested | None = None
    applied: bool | None = None
    has_mic_track: bool | None = None
    enabled: bool | None = None
    muted: bool | None = None
    ready_state: str | None = None
    label: str | None = None
    timestamp: float | None = None


def _flag(value: object) -> bool | None:
    return value if isinstance(value, bool) else None


def _text(value: object) -> str | None:
    return value[:MAX_TEXT] if isinstance(value, str) else None


def parse_mic_report(data: object) -> MicReport | None:
    """The report in `data` (a dict from the page), or None when it is not one. Never raises."""
    if not isinstance(data, dict) or data.get("name") not in (READY, STATE):
        return None
    requested = data.get("requested")
    stamp = data.get("timestamp")
    return MicReport(
        name=str(data["name"]),
        reason=_text(data.get("reason")),
        requested=requested if requested in ("mute", "unmute") else None,
        applied=_flag(data.get("applied")),
        has_mic_track=_flag(data.get("hasMicTrack")),
        enabled=_flag(data.get("enabled")),
        muted=_flag(data.get("muted")),
        ready_state=_text(data.get("readyState")),
        label=_text(data.get("label")),
        timestamp=float(stamp) if isinstance(stamp, int | float) and not isinstance(stamp, bool)
        and math.isfinite(stamp) else None,
    )


class PageMicrophone(QObject):
    """See the module docstring. Inputs are slots; outputs are signals (and `tell`)."""

    web_command = Signal(str)  # MUTE / UNMUTE, for the web view to post into the page
    native_open = Signal(bool)  # the native player's microphone track: open or closed
    state_changed = Signal(str)  # "idle" | "recording" | "listening", for the talk bar

    def __init__(self, *, tell: Callable[[str], None], restate_s: float = RESTATE_S,
                 unanswered_s: float = UNANSWERED_S, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._tell = tell
        self._unanswered_s = unanswered_s
        self._enabled = False  # the route is chosen
        self._live = False
        self._player: PlayerKind | None = None
        self._held = False
        self._recording = False
        self._hands_free = False
        self._muted = False
        self._open = False
        self._state = "idle"
        # The web page's side: what it last confirmed, and what it has been told about.
        self._answered = False
        self._confirmed = False
        self._told: set[str] = set()
        self._unanswered_told = False
        self._restate = QTimer(self)
        self._restate.setInterval(round(restate_s * 1000))
        self._restate.timeout.connect(self._on_restate)
        self._silence = QTimer(self)
        self._silence.setSingleShot(True)
        self._silence.setInterval(round(unanswered_s * 1000))
        self._silence.timeout.connect(self._on_silence)
        #: Every command sent to the web page, oldest first (bounded), and the latest report.
        self.commands_sent: list[str] = []
        self.last_report: MicReport | None = None

    # --- views ---------------------------------------------------------------------------------
    @property
    def enabled(self) -> bool:
        return self._enabled

    @property
    def is_open(self) -> bool:
        """The current wish: the microphone is open."""
        return self._open

    @property
    def confirmed(self) -> bool:
        """The web page confirmed the current wish (always False for an older page)."""
        return self._confirmed

    @property
    def answered(self) -> bool:
        """The web page has sent a report since it loaded."""
        return self._answered

    # --- inputs --------------------------------------------------------------------------------
    def set_enabled(self, enabled: bool) -> None:
        """The stream page's voice route is (not) the chosen one."""
        self._enabled = enabled
        self._update(resend=True)

    @Slot()
    def activate(self) -> None:
        """A live session shows the stream."""
        self._live = True
        self._unanswered_told = False
        self._update()

    @Slot()
    def deactivate(self) -> None:
        self._live = False
        self._held = self._recording = False
        self._update()

    @Slot(str)
    def on_player_changed(self, kind: str) -> None:
        """Which player shows the stream now ("" for none)."""
        player = PlayerKind(kind) if kind else None
        if player is self._player:
            return
        self._player = player
        self._page_reset()
        if player is not PlayerKind.NATIVE:
            self.native_open.emit(False)
        self._update(resend=True)

    @Slot()
    def press(self) -> None:
        if not self._muted:  # like the app's route: a muted microphone takes no hold
            self._held = True
            self._update()

    @Slot()
    def release(self) -> None:
        self._held = False
        self._update()

    @Slot()
    def start_recording(self) -> None:
        if not self._muted:
            self._recording = True
            self._update()

    @Slot()
    def stop_recording(self) -> None:
        self._recording = False
        self._update()

    @Slot(bool)
    def set_hands_free(self, on: bool) -> None:
        self._hands_free = on
        self._update()

    @Slot(bool)
    def set_muted(self, muted: bool) -> None:
        self._muted = muted
        if muted:
            self._held = self._recording = False
        self._update()

    # --- the web page ----------------------------------------------------------------------------
    @Slot()
    def on_page_loaded(self) -> None:
        """The web view's stream frame loaded a (new) document: it knows nothing of us yet (the
        host page has already told it to start muted)."""
        if self._player is not PlayerKind.WEB:
            return
        self._page_reset()
        self._update(resend=True)

    @Slot(object)
    def on_mic_report(self, data: object) -> None:
        report = parse_mic_report(data)
        if report is None or self._player is not PlayerKind.WEB or not self._active():
            if report is None:
                logger.debug("ignored an unreadable microphone report from the stream page")
            return
        self.last_report = report
        if not self._answered:
            logger.info("the stream page answers the microphone handshake")
        self._answered = True
        self._silence.stop()
        wanted: Requested = "unmute" if self._open else "mute"
        if report.name == READY:
            logger.info("stream page microphone ready (%s): track %s, enabled %s",
                        report.reason, report.has_mic_track, report.enabled)
            if report.has_mic_track is False:
                self._tell_once("no-track", NO_TRACK_NOTICE)
            elif report.enabled is not None and report.enabled != self._open:
                # A new track that does not match the wish (the page may not have kept it).
                self._confirmed = False
                self._send()
            self._show_state()
            return
        if report.requested != wanted:
            return  # the answer to an older command; the current one is on its way
        self._confirmed = bool(report.applied)
        logger.info("stream page microphone %s: applied %s (track %s)", report.requested,
                    report.applied, report.has_mic_track)
        if self._confirmed:
            self._restate.stop()
        elif report.has_mic_track is False:
            self._tell_once("no-track", NO_TRACK_NOTICE)
        elif self._open:
            self._tell_once("not-opened", NOT_OPENED_NOTICE)
        else:
            self._tell_once("not-muted", NOT_MUTED_NOTICE)
        self._show_state()

    # --- the wish --------------------------------------------------------------------------------
    def _active(self) -> bool:
        return self._enabled and self._live and self._player is not None

    def _update(self, *, resend: bool = False) -> None:
        wish = self._active() and not self._muted and (
            self._held or self._recording or self._hands_free)
        changed = wish != self._open
        self._open = wish
        if changed or resend:
            self._apply()
        self._show_state()

    def _apply(self) -> None:
        if self._player is PlayerKind.NATIVE:
            self.native_open.emit(self._open)
            return
        if self._player is PlayerKind.WEB and self._active():
            self._confirmed = False
            self._send()
            return
        self._restate.stop()
        self._silence.stop()
        if self._player is PlayerKind.WEB and self._live:
            # The route was switched to the app's microphone while the page is shown: the
            # page's microphone closes (the page keeps that for every new track too).
            self.web_command.emit(MUTE)

    def _send(self) -> None:
        command = UNMUTE if self._open else MUTE
        self.commands_sent.append(command)
        del self.commands_sent[:-100]
        self.web_command.emit(command)
        if not self._confirmed:
            self._restate.start()  # restarted: the next re-statement is a full period away
        if not self._answered and not self._unanswered_told and not self._silence.isActive():
            self._silence.start()

    def _page_reset(self) -> None:
        self._answered = self._confirmed = False
        self._told.clear()
        self._restate.stop()
        self._silence.stop()

    @Slot()
    def _on_restate(self) -> None:
        if self._player is not PlayerKind.WEB or not self._active() or self._confirmed:
            self._restate.stop()
            return
        self._send()

    @Slot()
    def _on_silence(self) -> None:
        if self._player is PlayerKind.WEB and self._active() and not self._answered \
                and not self._unanswered_told:
            self._unanswered_told = True
            logger.warning("the stream page never answered the microphone handshake")
            self._tell(UNANSWERED_NOTICE.format(seconds=self._restate.interval() / 1000))

    def _tell_once(self, key: str, text: str) -> None:
        if key not in self._told:
            self._told.add(key)
            logger.warning("stream page microphone: %s", key)
            self._tell(text)

    def _show_state(self) -> None:
        if not self._open:
            state = "idle"
        elif self._held or self._recording:
            state = "recording"
        else:
            state = "listening"
        if state != self._state:
            self._state = state
            self.state_changed.emit(state)

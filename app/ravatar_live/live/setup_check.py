""""Test your setup": the microphone, a record-and-play-back, a speaker tone, the service and
the video codecs, as a checklist of green / amber / red lines.

`SetupCheck` runs the checks as one task on the app's loop (the network and video checks beside
the sound ones), so the GUI thread never waits; `cancel()` stops it at once and releases the
devices. Each line is emitted as it changes: a title, a verdict, a summary with the figures,
and for amber or red one plain sentence saying what to do. The sound and service work is in
setup_sound.py and setup_service.py; this module decides what the results mean.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import TYPE_CHECKING, Final

import numpy as np
from PySide6.QtCore import QObject, Signal

from ravatar_live.audio.capture import AudioCapture
from ravatar_live.audio.errors import CaptureError, NoMicrophoneError
from ravatar_live.live import setup_service, setup_sound
from ravatar_live.live.connection import Endpoint
from ravatar_live.stream.audio_output import DEFAULT_BACKENDS
from ravatar_live.stream.errors import StreamError
from ravatar_live.stream.stats import codec_label

if TYPE_CHECKING:  # the network stack loads when the check runs, not with the window
    import aiohttp

logger = logging.getLogger(__name__)

RECORD_S: Final = 3.0
TONE_S: Final = 1.0
#: A recording whose loudest moment is below this heard nothing (a muted or dead microphone).
SILENT_PEAK_DBFS: Final = -45.0
#: A service step slower than this makes talking feel slow.
SLOW_STEP_MS: Final = 2000.0
SPEAKER_ADVICE: Final = ("Connect speakers or headphones, or pick another speaker in Settings › "
                         "Session, then run the test again.")


class Verdict(StrEnum):
    WAITING = "waiting"
    RUNNING = "running"
    GREEN = "green"
    AMBER = "amber"
    RED = "red"


@dataclass(frozen=True)
class CheckLine:
    key: str
    title: str
    verdict: Verdict = Verdict.WAITING
    summary: str = ""
    advice: str = ""  # what to do, for amber and red lines


#: The lines in the order the checklist shows them.
LINES: Final = (
    CheckLine("microphone", "Microphone"),
    CheckLine("playback", f"Record and play back ({RECORD_S:.0f} s)"),
    CheckLine("speaker", "Speaker test tone"),
    CheckLine("service", "RAVATAR service"),
    CheckLine("video", "Avatar video"),
)

ServiceTarget = Callable[[], Awaitable[tuple["aiohttp.ClientSession | None", Endpoint]]]


@dataclass
class SetupParts:
    """What the checks use: a fresh capture backend, the chosen devices, where the service is."""

    capture: Callable[[], AudioCapture]
    microphone_id: str | None
    speaker_id: str | None
    service: ServiceTarget
    output_backends: Sequence[str] = DEFAULT_BACKENDS
    record_s: float = RECORD_S


class SetupCheck(QObject):
    line_changed = Signal(object)  # CheckLine
    recording_changed = Signal(bool)  # the microphone is recording now: "say something"
    level = Signal(float)  # the microphone's peak, 0..1, while recording
    finished = Signal(bool)  # True: every check ran; False: cancelled

    def __init__(self, parts: SetupParts, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._parts = parts
        self.lines: dict[str, CheckLine] = {line.key: line for line in LINES}
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> asyncio.Task[None]:
        """Run every check (again); the task is kept here."""
        self.cancel()
        for line in LINES:
            self._show(line)
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self._task

    def cancel(self) -> None:
        if self.running:
            assert self._task is not None
            self._task.cancel()

    async def _run(self) -> None:
        started = asyncio.get_running_loop().time()
        try:
            self._video()
            await asyncio.gather(self._sound(), self._service())
        except asyncio.CancelledError:
            for key, line in self.lines.items():
                if line.verdict in (Verdict.WAITING, Verdict.RUNNING):
                    self._update(key, Verdict.WAITING, "Not tested: the test was cancelled.")
            self.recording_changed.emit(False)
            logger.info("setup test cancelled")
            self.finished.emit(False)
            raise
        verdicts = ", ".join(f"{k} {line.verdict.value}" for k, line in self.lines.items())
        logger.info("setup test done in %.1f s: %s", asyncio.get_running_loop().time() - started,
                    verdicts)
        self.finished.emit(True)

    def _show(self, line: CheckLine) -> None:
        self.lines[line.key] = line
        self.line_changed.emit(line)

    def _update(self, key: str, verdict: Verdict, summary: str, advice: str = "") -> None:
        self._show(replace(self.lines[key], verdict=verdict, summary=summary, advice=advice))

    # --- sound -------------------------------------------------------------------------------
    async def _sound(self) -> None:
        recording = await self._microphone()
        await self._playback(recording)
        await self._speaker()

    async def _microphone(self) -> setup_sound.Recording | None:
        parts = self._parts
        self._update("microphone", Verdict.RUNNING, "Recording: say a few words now…")
        self._update("playback", Verdict.RUNNING, "Recording…")
        self.recording_changed.emit(True)
        try:
            recording = await setup_sound.record(parts.capture(), parts.microphone_id,
                                                 parts.record_s, self.level.emit)
        except NoMicrophoneError:
            self._update("microphone", Verdict.AMBER, "No microphone was found.",
                         "Connect a microphone or headset and run the test again; until then "
                         "you can type to the avatar.")
            return None
        except CaptureError as exc:
            self._update("microphone", Verdict.RED, exc.user_message,
                         "Close other apps that use the microphone, or pick another one in "
                         "Settings › Voice, then run the test again.")
            return None
        finally:
            self.recording_changed.emit(False)
        if recording.seconds < parts.record_s / 2:
            self._update("microphone", Verdict.AMBER,
                         f"{recording.device_name} sent only {recording.seconds:.1f} s of "
                         f"sound in {parts.record_s:.0f} s.",
                         "Pick another microphone in Settings › Voice and run the test again.")
        elif recording.peak_dbfs < SILENT_PEAK_DBFS:
            self._update("microphone", Verdict.AMBER,
                         f"{recording.device_name} heard almost nothing (loudest "
                         f"{recording.peak_dbfs:.0f} dBFS).",
                         "Check that the microphone is not muted, on the device or in the "
                         "system's sound settings, and speak while the test records.")
        else:
            self._update("microphone", Verdict.GREEN,
                         f"Heard you on {recording.device_name}: loudest "
                         f"{recording.peak_dbfs:.0f} dBFS, average {recording.rms_dbfs:.0f} "
                         "dBFS.")
        return recording

    async def _playback(self, recording: setup_sound.Recording | None) -> None:
        if recording is None or not len(recording.samples):
            self._update("playback", Verdict.AMBER, "Nothing was recorded, so nothing was "
                         "played back.", "Fix the microphone first, then run the test again.")
            return
        self._update("playback", Verdict.RUNNING, "Playing your recording back…")
        frames = setup_sound.to_output(recording.samples, recording.sample_rate)
        device = await self._play("playback", frames)
        if device is not None:
            self._update("playback", Verdict.GREEN,
                         f"Played your {recording.seconds:.1f} s recording on {device}. You "
                         "should have heard yourself.")

    async def _speaker(self) -> None:
        self._update("speaker", Verdict.RUNNING, "Playing a tone…")
        frames = setup_sound.to_output(setup_sound.tone(TONE_S), 48000)
        device = await self._play("speaker", frames)
        if device is not None:
            self._update("speaker", Verdict.GREEN,
                         f"Played a {TONE_S:.0f} s tone on {device}.")

    async def _play(self, key: str, frames: np.ndarray) -> str | None:
        """Play; the device's name, or None once the line says what went wrong."""
        try:
            return await setup_sound.play(frames, self._parts.speaker_id,
                                          self._parts.output_backends)
        except StreamError as exc:
            self._update(key, Verdict.RED, exc.user_message, SPEAKER_ADVICE)
        except TimeoutError:
            self._update(key, Verdict.RED, "The speaker did not play the sound.", SPEAKER_ADVICE)
        return None

    # --- service and video -------------------------------------------------------------------
    async def _service(self) -> None:
        self._update("service", Verdict.RUNNING, "Signing in…")
        http, endpoint = await self._parts.service()
        if http is None:
            import aiohttp  # noqa: PLC0415 - see TYPE_CHECKING

            async with aiohttp.ClientSession() as own:
                timings = await setup_service.probe_service(own, endpoint)
        else:
            timings = await setup_service.probe_service(http, endpoint)
        figures = " · ".join(f"{stage} {ms:.0f} ms" for stage, ms in timings.ms.items())
        where = "The built-in demo service" if endpoint.demo else endpoint.api_url
        if timings.failed_stage is not None:
            done = f" ({figures})" if figures else ""
            advice = ("The demo service inside the app stopped: restart the app." if
                      endpoint.demo else "Check your internet connection and the API URL in "
                      "Settings › Connection, then run the test again.")
            self._update("service", Verdict.RED,
                         f"{where}: {timings.failed_stage} failed{done}. {timings.error}",
                         advice)
        elif any(ms > SLOW_STEP_MS for ms in timings.ms.values()):
            self._update("service", Verdict.AMBER, f"{where} answers slowly: {figures}.",
                         "Replies will come late; a faster or wired network helps.")
        else:
            self._update("service", Verdict.GREEN, f"{where}: {figures}.")

    def _video(self) -> None:
        codecs = setup_service.video_codecs()
        web = ", ".join(codec_label(c) for c in codecs.web_view)
        native = ", ".join(codec_label(c) for c in codecs.native)
        if "H264" in codecs.native:
            self._update("video", Verdict.GREEN,
                         f"The app's own player shows {native}; the built-in browser {web}.")
        elif codecs.native:
            self._update("video", Verdict.AMBER,
                         f"The app's own player shows {native} but not H.264, which avatar "
                         f"streams usually send; the built-in browser shows {web}.",
                         "Reinstall the app so its video library (PyAV) is complete.")
        else:
            self._update("video", Verdict.AMBER,
                         f"The app's own player cannot run: {codecs.native_problem}. Only the "
                         f"built-in browser can show the avatar ({web}), and not H.264.",
                         "Reinstall the app so its video libraries (aiortc, PyAV) are complete.")

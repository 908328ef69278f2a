"""Voice settings: one declared, typed place for every knob the UI exposes.

Defaults are chosen by measurement: ``bench/bench_take_quality.py`` sweeps them on a generated
corpus (several espeak-ng voices and speeds, pauses inside sentences, noise at several SNRs) and
the values below are its pick. Re-run the bench before changing them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal, get_args

from ravatar_live.audio.errors import SettingsError

VoiceMode = Literal["vad", "push-to-talk", "record"]
VadBackendName = Literal["silero", "webrtc", "rms"]
VoiceState = Literal["idle", "opening", "listening", "speech", "recording", "sending"]
# How long hands-free waits for the rest of a sentence ("Wait for me to finish").
TurnPatience = Literal["quick", "balanced", "patient"]

VOICE_MODES: tuple[VoiceMode, ...] = get_args(VoiceMode)
VAD_BACKENDS: tuple[VadBackendName, ...] = get_args(VadBackendName)
TURN_PATIENCES: tuple[TurnPatience, ...] = get_args(TurnPatience)
DEFAULT_TURN_PATIENCE: TurnPatience = "balanced"


@dataclass(frozen=True, slots=True)
class TurnSettings:
    """End of turn on top of the VAD: when a pause begins, a turn-completion model judges the
    take so far; a complete turn closes after ``complete_ms`` of silence, an incomplete one
    waits up to ``limit_ms``. Without a verdict (model missing or failed) the plain
    ``TakeSettings.hangover_ms`` applies."""

    judge_after_ms: int = 128       # silence that counts as a pause worth judging
    complete_ms: int = 300          # silence that ends a turn the model calls complete
    limit_ms: int = 1200            # silence that ends a turn whatever the model says
    threshold: float = 0.99         # completion probability that closes a turn fast: only
                                    # when the model is very sure (see TURN_PRESETS)

    def validated(self) -> TurnSettings:
        checks = (
            (0 <= self.judge_after_ms <= self.complete_ms,
             "judge_after_ms must be 0..complete_ms"),
            (0 < self.complete_ms <= self.limit_ms, "complete_ms must be 1..limit_ms"),
            (self.limit_ms <= 10_000, "limit_ms must be at most 10000"),
            (0.0 < self.threshold < 1.0, "threshold must be in (0, 1)"),
        )
        for ok, why in checks:
            if not ok:
                raise SettingsError(f"Invalid end-of-turn setting: {why}.")
        return self


# Measured by bench/bench_take_quality.py on four families of synthetic voices (espeak-ng,
# flite, Festival, Piper): there the model tells a finished sentence from a pause inside one
# little better than chance (ROC AUC 0.5-0.7 by family), and any threshold below 0.99 splits
# more than 2 % of the sentences (0.99 is also what the bench picks with each family held out).
# So the model closes a turn fast only when it is very sure, and the limit ends most turns:
# Balanced's keeps whole the 250-600 ms pauses people make inside a sentence (Silero notices a
# pause ~0.1 s late, so a 600 ms pause shows as ~0.5 s of silence); Quick answers sooner and
# cuts pauses over ~0.45 s; Patient waits out pauses up to ~1.2 s. Balanced closes a complete
# turn after the same 300 ms as the plain hangover, so it never cuts a sentence the hangover
# alone would have kept whole.
TURN_PRESETS: dict[TurnPatience, TurnSettings] = {
    "quick": TurnSettings(complete_ms=200, limit_ms=480),
    "balanced": TurnSettings(complete_ms=300, limit_ms=600),
    "patient": TurnSettings(complete_ms=400, limit_ms=1200),
}


@dataclass(frozen=True, slots=True)
class TakeSettings:
    """Our take logic on top of any VAD (frame probabilities -> takes)."""

    # Picked by bench/bench_take_quality.py --sweep on its plain utterances (clean to 5 dB SNR):
    # Silero with these values split 1 of 144 at end-of-speech delay P50 419 ms / P95 549 ms;
    # the web demo's RMS gate made 56 errors at P50 877 ms. On sentences spoken in phrases
    # (250-600 ms pauses) the 300 ms hangover alone splits most of them: that is what ``turn``
    # (the end-of-turn model) is for; ``hangover_ms`` is its fallback.
    threshold: float = 0.5          # speech probability that starts / sustains speech
    release_delta: float = 0.15     # hysteresis: while in speech, threshold - delta still counts
    start_ms: int = 64              # speech needed before a take starts (confirmation)
    preroll_ms: int = 300           # audio kept from before the start so the first syllable lives
    min_speech_ms: int = 150        # less speech than this is a click or a cough, not a take
    hangover_ms: int = 300          # silence needed before "end of speech" (no turn model)
    max_take_s: float = 15.0        # safety cap on one take
    # End-of-turn model on top of the hangover; None = the hangover alone (Silero only).
    turn: TurnSettings | None = TURN_PRESETS[DEFAULT_TURN_PATIENCE]

    def validated(self) -> TakeSettings:
        checks = (
            (0.0 < self.threshold <= 1.0, "threshold must be in (0, 1]"),
            (0.0 <= self.release_delta < self.threshold, "release_delta must be in [0, threshold)"),
            (0 <= self.start_ms <= 2000, "start_ms must be 0..2000"),
            (0 <= self.preroll_ms <= 2000, "preroll_ms must be 0..2000"),
            (0 <= self.min_speech_ms <= 10_000, "min_speech_ms must be 0..10000"),
            (0 <= self.hangover_ms <= 10_000, "hangover_ms must be 0..10000"),
            (0.5 <= self.max_take_s <= 300.0, "max_take_s must be 0.5..300"),
        )
        for ok, why in checks:
            if not ok:
                raise SettingsError(f"Invalid voice-activity setting: {why}.")
        if self.turn is not None:
            self.turn.validated()
        return self


# The official web demo's RMS gate (PROTOCOL.md 5) expressed in our take logic: any 2048-sample
# frame with RMS >= 0.02 starts or sustains a take, 900 ms of silence ends it, 15 s cap, no
# pre-roll, no minimum. Used as the baseline in the bench and by `ravatar-live-takes --backend rms`.
RMS_BASELINE_TAKES = TakeSettings(
    threshold=0.5, release_delta=0.0, start_ms=0, preroll_ms=0, min_speech_ms=0,
    hangover_ms=900, max_take_s=15.0, turn=None)


@dataclass(frozen=True, slots=True)
class VoiceSettings:
    """Everything the VoiceController needs; the UI persists these."""

    mode: VoiceMode = "push-to-talk"
    stream_pcm: bool = True             # Live Mode default: stream 4096-sample chunks while spoken
    vad_backend: VadBackendName = "silero"
    webrtc_aggressiveness: int = 3      # 0..3, only for the webrtc backend
    takes: TakeSettings = field(default_factory=TakeSettings)
    tap_s: float = 0.2                  # push-to-talk: a shorter hold is a tap and sends nothing
    min_record_s: float = 0.2           # record mode: a shorter recording sends nothing
    echo_cancellation: bool = True      # WebRTC AEC3 on the capture path (half-duplex without
                                        # a reference); off: nothing keeps the avatar out
    noise_suppression: bool = True      # WebRTC's noise suppressor on the capture path
    stall_timeout_s: float = 2.5        # no audio this long from a running device = device lost
    first_audio_timeout_s: float = 6.0  # QtMultimedia's first read can block for seconds

    def validated(self) -> VoiceSettings:
        if self.mode not in VOICE_MODES:
            raise SettingsError(f"Unknown voice mode {self.mode!r}; use one of {VOICE_MODES}.")
        if self.vad_backend not in VAD_BACKENDS:
            raise SettingsError(
                f"Unknown VAD backend {self.vad_backend!r}; use one of {VAD_BACKENDS}.")
        if self.webrtc_aggressiveness not in (0, 1, 2, 3):
            raise SettingsError("webrtc_aggressiveness must be 0, 1, 2 or 3.")
        if not 0.0 <= self.tap_s <= 5.0 or not 0.0 <= self.min_record_s <= 5.0:
            raise SettingsError("tap_s and min_record_s must be 0..5 seconds.")
        if self.stall_timeout_s <= 0.1 or self.first_audio_timeout_s <= 0.1:
            raise SettingsError("Audio timeouts must be above 0.1 s.")
        self.takes.validated()
        return self

    def with_mode(self, mode: VoiceMode) -> VoiceSettings:
        return replace(self, mode=mode).validated()

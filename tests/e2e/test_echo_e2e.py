"""The avatar's voice comes back into the microphone, as from laptop speakers, and hands-free must
not answer itself; the user talking over the avatar must still get through (barge-in).

The echo path (PulseAudio, on top of tests/e2e/conftest.py's virtual microphone): the app plays
the avatar into a second null sink `avatar` (made the default sink), whose monitor a
`module-loopback` plays into `vsink` with a real device's latency, 9 dB down; `vsink` is
what the microphone `vmic` hears, mixed with the user's speech (`paplay -d vsink`). With
headphones there is no loopback: the microphone hears only the user. The app is
the real window on the embedded simulator with its WebRTC stream and espeak-ng voice, the real
capture backend, and either player:
* native: PortAudio plays the avatar; the reference is the samples it hands the device.
* web: QtWebEngine plays the avatar (Chromium's own PulseAudio output); the reference is the
  stream page's tap of the remote audio track, posted by the injected script
  (resources/stream_stats.js) and mapped onto our clock (audio/far_end_web.py). The PyPI
  QtWebEngine decodes no H.264, so the simulator streams VP8 here; the audio path is the same.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ravatar_live.audio.capture_default import default_capture
from ravatar_live.live.states import SessionState
from ravatar_live.settings import Settings, StreamPlayerChoice
from ravatar_live.simulator.server import SimulatorConfig
from ravatar_live.stream.worker import PlayerSettings
from ravatar_live.ui.conversation import Role
from tests.gui.conftest import AppHarness, aloop, make_app, qloop, speech_wav  # noqa: F401
from tests.support.virtual_audio import VirtualAudio

pytestmark = [pytest.mark.e2e, pytest.mark.gui]

USER_ID = "0123456789abcdef01234567"
LOOPBACK_MS = 150      # speaker + microphone latency of a real laptop, roughly
ECHO_VOLUME = "70%"    # the loopback's gain (PulseAudio's cubic scale: about -9 dB)
AVATAR_REPLIES = 10
BARGE_INS = 20
WAIT_MS = 60_000


def pactl(*args: str) -> str:
    done = subprocess.run(["pactl", *args], check=True, capture_output=True, text=True,
                          timeout=15)
    return done.stdout.strip()


@contextlib.contextmanager
def avatar_sink(*, echo: bool) -> Iterator[str]:
    """The avatar's sink, the default while it lasts; with `echo`, its loopback into the
    microphone (speakers), without, none (headphones)."""
    modules = [pactl("load-module", "module-null-sink", "sink_name=avatar", "rate=48000")]
    try:
        if echo:
            modules.append(pactl("load-module", "module-loopback", "source=avatar.monitor",
                                 "sink=vsink", f"latency_msec={LOOPBACK_MS}", "adjust_time=0",
                                 "source_dont_move=true", "sink_dont_move=true"))
            pactl("set-sink-input-volume", loopback_input(modules[-1]), ECHO_VOLUME)
        pactl("set-default-sink", "avatar")
        yield "avatar"
    finally:
        pactl("set-default-sink", "vsink")
        for module in reversed(modules):
            subprocess.run(["pactl", "unload-module", module], check=False, timeout=15)


@pytest.fixture
def echo_path(virtual_mic: VirtualAudio) -> Iterator[str]:
    with avatar_sink(echo=True) as sink:
        yield sink


@pytest.fixture
def headphones(virtual_mic: VirtualAudio) -> Iterator[str]:
    with avatar_sink(echo=False) as sink:
        yield sink


def loopback_input(module: str) -> str:
    """The index of the sink input that `module` owns. (The short listing's second column is
    the sink, not the owner: matching on it once left the echo unattenuated, at 0 dB.)"""
    index = ""
    for line in pactl("list", "sink-inputs").splitlines():
        field = line.strip()
        if field.startswith("Sink Input #"):
            index = field.removeprefix("Sink Input #")
        elif field == f"Owner Module: {module}":
            return index
    raise AssertionError(f"module {module} owns no sink input")


@dataclass
class Utterance:
    text: str
    path: Path


@pytest.fixture(scope="module")
def user_utterances(tmp_path_factory: pytest.TempPathFactory) -> list[Utterance]:
    espeak = shutil.which("espeak-ng")
    assert espeak, "espeak-ng is required (apt-get install espeak-ng)"
    folder = tmp_path_factory.mktemp("barge-in")
    # Sentences the simulator's recogniser (pocketsphinx) reads word for word from this voice's
    # file, so that what is lost is lost on the way ("Tell me about the weather", for one,
    # comes out as "til we got to where they are" even from the file). Through PulseAudio with
    # the avatar silent it still loses some: 15 of 20 recognised, 60 of 100 words, in one run
    # with "How much does it cost" (never recognised that way) in place of the taxi; the taxi
    # fares little better ("i need to attack the leagues").
    texts = ["What do you recommend", "I need a taxi please", "Where can I buy a ticket",
             "Can you help me please", "I would like a coffee"]
    made = []
    for i in range(BARGE_INS):
        text = texts[i % len(texts)]
        path = folder / f"u{i}.wav"
        subprocess.run([espeak, "-v", "en-us", "-s", "150", "-a", "160", "-w", str(path), text],
                       check=True, timeout=30)
        made.append(Utterance(text, path))
    return made


PLAYERS: list[StreamPlayerChoice] = ["native", "web"]


def start_app(factory: Any, player: StreamPlayerChoice, *, echo_cancellation: bool,
              transcribe: bool) -> AppHarness:
    app: AppHarness = factory(
        # The simulator's own gap (0.7 s) ends an utterance. The app streams a 256 ms chunk as
        # each fills, so a 0.3 s gap left 44 ms for the GUI thread's delays: with both cores
        # busy, takes reached the simulator as two to four utterances, each a new turn.
        sim=SimulatorConfig(transcribe=transcribe, utterance_gap_s=0.7, stream_fps=10.0,
                            stream_max_height=360,
                            stream_video_codec="VP8" if player == "web" else "H264"),
        settings=Settings(user_id=USER_ID, voice_mode="vad", stream_player=player,
                          stream_width=640, stream_height=360,
                          echo_cancellation=echo_cancellation),
        capture=default_capture(),
        native_player_settings=PlayerSettings(audio_backends=("pyaudio",)))
    app.go_live()
    assert app.controller.session.state is SessionState.LIVE
    voice = app.controller.voice.controller
    app.qtbot.waitUntil(lambda: voice.mic_open and voice.state == "listening", timeout=WAIT_MS)
    app.qtbot.waitUntil(lambda: app.controller.players.active == player, timeout=WAIT_MS)
    return app


class AvatarWatch:
    """When the avatar is audible (from the reference the player hands over)."""

    def __init__(self, app: AppHarness) -> None:
        self.app = app
        self.far_end = app.controller.voice.controller.echo.far_end

    def wait_speaking(self) -> None:
        if not until(self.app, lambda: self.far_end.avatar_speaking, WAIT_MS):
            # What the simulator's avatar did tells a silent avatar from a deaf reference.
            license_id = self.app.controller.session.license_id
            facts = self.app.sim.stream_players(license_id) if license_id else []
            spoken = [{k: f.get(k) for k in ("replies_spoken", "replies_interrupted",
                                             "samples_spoken")} for f in facts]
            raise AssertionError(f"the avatar was not heard for {WAIT_MS} ms; reference alive "
                                 f"{self.far_end.alive}; the simulator's players: {spoken}")

    def wait_quiet(self, for_s: float = 1.5, give_up: Any = lambda: False) -> bool:
        """Until the avatar has been silent `for_s` (the pauses between its sentences are
        shorter): its reply is over. False when it never went quiet (or `give_up()` came
        true first)."""
        last_heard = [time.monotonic()]

        def quiet() -> bool:
            if give_up():
                return True
            if self.far_end.avatar_speaking:
                last_heard[0] = time.monotonic()
            return time.monotonic() - last_heard[0] >= for_s

        return until(self.app, quiet, WAIT_MS) and not give_up()


def until(app: AppHarness, condition: Any, timeout_ms: int) -> bool:
    """Wait for `condition` (Qt events keep flowing); False when it did not come in time."""
    try:
        app.qtbot.waitUntil(condition, timeout=timeout_ms)
    except app.qtbot.TimeoutError:
        return False
    return True


def replies_without_speech(app: AppHarness, count: int, enough: int | None = None) -> int:
    """Ask `count` typed questions, let each reply play out; the voice takes sent meanwhile
    (stopping early once `enough` were)."""
    takes: list[bool] = []
    app.controller.voice.take_sent.connect(takes.append)
    avatar = AvatarWatch(app)
    conversation = app.window.conversation
    for _ in range(count):
        replies = len(conversation.texts(Role.AVATAR))
        app.controller.chat.send_text("Hello")
        app.qtbot.waitUntil(lambda n=replies: len(conversation.texts(Role.AVATAR)) > n,
                            timeout=WAIT_MS)
        avatar.wait_speaking()
        # A take still being cut is sent within that time too. An avatar that never goes quiet
        # is answering its own echo over and over: the takes so far tell.
        if not avatar.wait_quiet(give_up=lambda: enough is not None and len(takes) >= enough):
            break
    return len(takes)


@pytest.mark.timeout(600)
@pytest.mark.parametrize("player", PLAYERS)
def test_hands_free_does_not_answer_the_avatar(make_app: Any, echo_path: str,  # noqa: F811
                                              qtbot: Any, player: StreamPlayerChoice) -> None:
    app = start_app(make_app, player, echo_cancellation=True, transcribe=False)
    voice = app.controller.voice
    # The player's tap feeds the reference once it runs (the native player's audio device, the
    # web page's WebAudio branch): without it, hands-free would be half-duplex.
    qtbot.waitUntil(lambda: voice.echo_protection == "echo-cancellation", timeout=WAIT_MS)
    qtbot.waitUntil(lambda: app.window.talk_bar.echo_label.full_text() == "Echo cancellation on",
                    timeout=WAIT_MS)
    blocks_before, since = app.controller.echo_reference.web_blocks, time.monotonic()
    self_takes = replies_without_speech(app, AVATAR_REPLIES)
    if player == "web":
        # The page's tap posts blocks of 4096 samples at 48 kHz (11.7 a second): each
        # message costs ~1.5 ms of CPU across processes, so 32 ms blocks cost 5 % of a core
        # more.
        rate = ((app.controller.echo_reference.web_blocks - blocks_before)
                / (time.monotonic() - since))
        assert 10 < rate < 20
    print(f"self-takes with echo cancellation over {AVATAR_REPLIES} replies: {self_takes}; "
          f"the avatar paused {app.controller.players.avatar_pauses} times for takes its echo "
          f"opened ({voice.controller.echo.echo_takes_dropped} dropped as echo)")
    # The goal is none (issue 11). Over this PulseAudio path, whose delay jumps on a loaded
    # machine, AEC3 alone left 0-48 self-takes in 10 replies; the echo check on what AEC3 let
    # through, 0 quiet but 13-24 with both cores busy; judging the raw microphone too, 0 in
    # every run quiet, and loaded 0 on the native player, 0-2 on the web view (without echo
    # cancellation: 7-10 per reply). The bound leaves
    # room for a rare leak and catches either check failing.
    assert self_takes <= 3
    # Each pause for a take the echo opened is a moment's silence in the avatar's voice: 0-3
    # in 10 replies on either player, quiet or loaded (the web view's echo opened 10-21
    # takes, and paused it 3-13 times before two of them within 30 s stopped the pauses;
    # that rule still lets about two through per 30 s of a leaking echo, hence the margin).
    assert app.controller.players.avatar_pauses <= 6


@pytest.mark.timeout(600)
@pytest.mark.parametrize("player", PLAYERS)
def test_without_echo_cancellation_it_answers_itself(make_app: Any, echo_path: str,  # noqa: F811
                                                     qtbot: Any,
                                                     player: StreamPlayerChoice) -> None:
    """The same path with echo cancellation off: the echo is loud enough to be taken for the
    user (so the test above can fail)."""
    app = start_app(make_app, player, echo_cancellation=False, transcribe=False)
    assert app.controller.voice.echo_protection == "off"
    self_takes = replies_without_speech(app, 3, enough=2)
    print(f"self-takes without echo cancellation (counted up to 2): {self_takes}")
    assert self_takes >= 2


@dataclass
class BargeIns:
    sent: int = 0
    recognised: int = 0  # at least half of the sentence's words in the simulator's transcript
    words: int = 0


def talk_over_the_avatar(app: AppHarness, utterances: list[Utterance]) -> BargeIns:
    """Each utterance played into the microphone 0.4 s into one of the avatar's sentences."""
    avatar = AvatarWatch(app)
    sim = app.sim
    # One reply played out first: AEC3 converges over its first seconds of echo (measured in
    # tests/unit/test_echo.py: a voice as loud as the echo is chopped before that).
    replies_without_speech(app, 1)
    result = BargeIns()
    for utterance in utterances:
        if not until(app, lambda: avatar.far_end.avatar_speaking, 2_000):
            app.controller.chat.send_text("Tell me more")  # the avatar talks again
            avatar.wait_speaking()
        app.qtbot.wait(400)  # well into the avatar's sentence
        before = len(sim.utterances)
        speaking = subprocess.Popen(["paplay", "-d", "vsink", str(utterance.path)])
        try:
            sent = until(app, lambda b=before: len(sim.utterances) > b, 20_000)
        finally:
            assert speaking.wait(timeout=30) == 0
        if not sent:
            continue  # missed: counted by its absence
        result.sent += 1
        # The user's words, not a self-take sent meanwhile (the simulator answers the new turn).
        transcript = " ".join(u.transcript or "" for u in sim.utterances[before:]).lower()
        # Whole words: "a" or "is" would be found inside nearly any transcript.
        found = len(set(utterance.text.lower().split()) & set(transcript.split()))
        print(f"  {utterance.text!r} -> {transcript!r}")
        result.words += found
        if 2 * found >= len(utterance.text.split()):
            result.recognised += 1
    total_words = sum(len(u.text.split()) for u in utterances)
    print(f"barge-in: {result.sent}/{len(utterances)} utterances sent over the avatar, "
          f"{result.recognised} recognised; words recognised {result.words}/{total_words}; the "
          f"avatar paused {app.controller.players.avatar_pauses} times")
    return result


@pytest.mark.timeout(900)
@pytest.mark.parametrize("player", PLAYERS)
@pytest.mark.usefixtures("echo_path", "virtual_mic")
def test_barge_in_the_user_talks_over_the_avatar(make_app: Any, qtbot: Any,  # noqa: F811
                                                 user_utterances: list[Utterance],
                                                 player: StreamPlayerChoice) -> None:
    app = start_app(make_app, player, echo_cancellation=True, transcribe=True)
    result = talk_over_the_avatar(app, user_utterances)
    # The goal is 19 of 20 sent and recognised (issue 11). Sent: 20/20 in every run, both
    # players. Recognised (at least half the words, whole words), with the echo 9 dB down and
    # the avatar paused for the user: native 15 (61-66 of 100 words; 9-11 before the
    # canceller rested while the avatar is paused; 12-13 and 53-63 loaded); web 12 (65; 10
    # and 52 loaded; 7-12 and 33-59 in runs that paused for every take; 6-9 and 32-46 before
    # its frame played the avatar itself and could pause). Through the same PulseAudio path
    # with no echo (headphones), the recogniser itself loses some: 15 of 20, 56-60 words.
    # (Figures from before the test's echo was set 9 dB down counted any substring as a
    # word.)
    # The bounds catch a barge-in that does not get through (a gate that never opens, a check
    # that drops the user, a canceller that eats the voice) on a loaded machine too.
    assert result.sent >= 18
    assert result.recognised >= 4
    # Both players pause for (nearly) every utterance: 20 of 20 measured on each. The web
    # view's echo opens takes of its own, and two of them within 30 s stop the pauses for a
    # while (EchoGuard.avatar_may_pause), so its bound is lower.
    assert app.controller.players.avatar_pauses >= (15 if player == "native" else 10)


@pytest.mark.timeout(600)
@pytest.mark.usefixtures("headphones", "virtual_mic")
def test_barge_in_on_headphones_the_voice_goes_out_as_heard(make_app: Any, qtbot: Any,  # noqa: F811
                                                            user_utterances: list[Utterance]
                                                            ) -> None:
    """Nothing of the avatar reaches the microphone. With echo cancellation on (the default)
    AEC3 would take the user's voice for echo while the avatar speaks (audio/echo_presence.py);
    the app finds there is no echo and sends the microphone as it heard it."""
    app = start_app(make_app, "native", echo_cancellation=True, transcribe=True)
    result = talk_over_the_avatar(app, user_utterances[:10])
    # Measured: 7 of 10 recognised (38 of 50 words); with AEC3's output, as before
    # echo_presence.py, 13 of 20 and 45 of 100 words where it now got 15 and 56.
    assert not app.controller.voice.controller.echo.echo_heard
    assert result.sent == 10
    assert result.recognised >= 4

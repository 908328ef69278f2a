"""The stream page's voice route in the real window, on the embedded simulator's real stream
page (WebRTC, VP8 so the web view plays it) and its microphone handshake.

What is real: the app's web view, host page and bridge, the simulator's page answering
`rvo-ps-mic-mute`/`-unmute` with `ravatar-ps-mic-ready`/`-state`, WebRTC into the simulator's
streamer, its utterance cutter and the answer on the chat socket. What stands in: the page's
microphone. This machine has no sound card and Chromium's getUserMedia finds no device, so a
script injected into the app's web profile (for these tests only) answers getUserMedia with
espeak-ng speech played by WebAudio: a real MediaStreamTrack that Chromium encodes and sends
like a microphone's.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ravatar_live.audio.far_end_web import FarEndBlock, PageClock, parse_far_end
from ravatar_live.live.page_microphone import MUTE, UNANSWERED_NOTICE, UNMUTE, MicReport
from ravatar_live.live.player_choice import PlayerKind
from ravatar_live.live.states import SessionState
from ravatar_live.settings import Settings
from ravatar_live.simulator.audio import wav_to_pcm16k
from ravatar_live.simulator.pixel_streaming.players import MicFacts
from ravatar_live.simulator.server import PlayerFacts
from ravatar_live.ui.bubble import Role
from tests.gui.conftest import USER_ID, WAIT_MS, frame_js, in_every_frame, quick_simulator
from tests.support.signal_match import best_match

pytestmark = pytest.mark.gui

# Half a second of audio frames at 20 ms: enough for the simulator's cutter to call it speech.
SPEECH_FRAMES = 25


def speech_microphone_script(wav: bytes) -> str:
    """getUserMedia answered with `wav`, looped, as a WebAudio MediaStreamTrack."""
    data = json.dumps(base64.b64encode(wav).decode("ascii"))
    return f"""(function () {{
  if (!/^https?:$/.test(location.protocol) || !navigator.mediaDevices) {{ return; }}
  navigator.mediaDevices.getUserMedia = function () {{
    var context = new AudioContext();
    var destination = context.createMediaStreamDestination();
    var bytes = Uint8Array.from(atob({data}), function (c) {{ return c.charCodeAt(0); }});
    return context.decodeAudioData(bytes.buffer).then(function (buffer) {{
      var source = context.createBufferSource();
      source.buffer = buffer;
      source.loop = true;
      source.connect(destination);
      source.start();
      context.resume();
      return destination.stream;
    }});
  }};
}})();"""


@pytest.fixture
def speaking_page(speech_wav: Path) -> Iterator[None]:
    """The stand-in microphone in every frame of the app's web profile, for one test."""
    with in_every_frame("test-speech-microphone",
                        speech_microphone_script(speech_wav.read_bytes())):
        yield


def page_route(**changes: Any) -> Settings:
    fields: dict[str, Any] = {"voice_route": "page", "stream_player": "web", **changes}
    return Settings(user_id=USER_ID, stream_width=640, stream_height=360, **fields)


def web_stream(**changes: Any) -> Any:
    return quick_simulator(stream_webrtc=True, stream_video_codec="VP8", utterance_gap_s=0.4,
                           **changes)


def mic_facts(app: Any) -> MicFacts:
    [player] = players(app)
    return player["mic"]


def players(app: Any) -> list[PlayerFacts]:
    license_id = app.controller.session.license_id
    return list(app.sim.stream_players(license_id)) if license_id else []


def reports(app: Any, seen: list[MicReport], name: str) -> list[MicReport]:
    return [report for report in seen if report.name == name]


def record_reports(app: Any) -> list[MicReport]:
    """Every microphone report the page microphone accepted, in order."""
    seen: list[MicReport] = []
    page_mic = app.controller.page_mic
    original = page_mic.on_mic_report

    def spy(data: object) -> None:
        original(data)
        if page_mic.last_report is not None and (not seen or seen[-1] is not page_mic.last_report):
            seen.append(page_mic.last_report)

    app.window.stream_view.mic_report.disconnect(original)
    app.window.stream_view.mic_report.connect(spy)
    return seen


def wait_quiet_frames(app: Any, frames: int) -> None:
    """Wait until the streamer has received `frames` more microphone frames than now."""
    start = mic_facts(app)["frames"]
    app.qtbot.waitUntil(lambda: mic_facts(app)["frames"] >= start + frames, timeout=WAIT_MS)


def go_live_with_microphone(app: Any, seen: list[MicReport]) -> None:
    app.go_live()
    assert app.controller.players.active is PlayerKind.WEB
    # The page announces its microphone track once connected and again when video shows.
    app.qtbot.waitUntil(lambda: any(r.has_mic_track
                                    for r in reports(app, seen, "ravatar-ps-mic-ready")),
                        timeout=WAIT_MS)


def test_the_page_route_starts_muted_and_opens_only_while_held(make_app, speaking_page) -> None:
    app = make_app(sim=web_stream(), settings=page_route())
    seen = record_reports(app)
    go_live_with_microphone(app, seen)
    page_mic = app.controller.page_mic
    # Muted from the start: the page's first track is already disabled, and what the streamer
    # receives is silence (the stand-in speaks all the time).
    ready = reports(app, seen, "ravatar-ps-mic-ready")[0]
    assert (ready.has_mic_track, ready.enabled) == (True, False)
    assert page_mic.commands_sent[0] == MUTE and UNMUTE not in page_mic.commands_sent
    wait_quiet_frames(app, 2 * SPEECH_FRAMES)
    assert mic_facts(app)["speech"] is False

    # Held: unmuted, confirmed by the page, and the streamer hears speech.
    app.window.talk_bar.begin_talk()
    app.qtbot.waitUntil(lambda: page_mic.confirmed and page_mic.is_open, timeout=WAIT_MS)
    unmuted = reports(app, seen, "ravatar-ps-mic-state")[-1]
    assert (unmuted.requested, unmuted.applied, unmuted.enabled) == ("unmute", True, True)
    assert app.window.talk_bar.state_label.text() == "Recording…"
    app.qtbot.waitUntil(lambda: mic_facts(app)["speech"], timeout=WAIT_MS)

    # Released: muted again, confirmed.
    app.window.talk_bar.end_talk()
    app.qtbot.waitUntil(lambda: page_mic.confirmed and not page_mic.is_open, timeout=WAIT_MS)
    muted = reports(app, seen, "ravatar-ps-mic-state")[-1]
    assert (muted.requested, muted.applied, muted.enabled) == ("mute", True, False)
    assert page_mic.commands_sent[-2:] == [UNMUTE, MUTE]
    # Never both routes: the app's own capture never opened and sent nothing on the chat socket.
    voice = app.controller.voice
    assert not voice.active and not voice.controller.mic_open
    assert not [m for m in app.sim.messages if m.get("audio_base64_pcm")]


def test_a_push_to_talk_turn_through_the_page_is_answered(make_app, speaking_page) -> None:
    app = make_app(sim=web_stream(), settings=page_route())
    seen = record_reports(app)
    go_live_with_microphone(app, seen)
    app.window.talk_bar.begin_talk()
    app.qtbot.waitUntil(lambda: mic_facts(app)["speech"], timeout=WAIT_MS)
    wait_quiet_frames(app, 3 * SPEECH_FRAMES)  # a second and a half of speech
    app.window.talk_bar.end_talk()
    # The release mutes the track; the silence ends the utterance; the answer comes on the
    # chat socket and shows in the conversation.
    conversation = app.window.conversation
    app.qtbot.waitUntil(lambda: len(conversation.texts(Role.AVATAR)) >= 1, timeout=WAIT_MS)
    utterances = [u for u in app.sim.utterances if u.source == "stream-mic"]
    assert utterances and utterances[0].license_id == app.controller.session.license_id
    assert 0.5 <= utterances[0].duration_s <= 6.0
    assert len(conversation.texts(Role.USER)) >= 1  # what the avatar heard, quoted back


def test_a_reconnect_does_not_unmute_the_page(make_app, speaking_page) -> None:
    app = make_app(sim=web_stream(), settings=page_route())
    seen = record_reports(app)
    go_live_with_microphone(app, seen)
    readies = len(reports(app, seen, "ravatar-ps-mic-ready"))
    license_id = app.controller.session.license_id
    assert app.run(app.sim.drop_stream_players(license_id)) == 1
    # The page reconnects with a new microphone track, still disabled (the page keeps the
    # last command); the app does not unmute it and the streamer hears only silence.
    app.qtbot.waitUntil(lambda: len(reports(app, seen, "ravatar-ps-mic-ready")) > readies
                        and len(players(app)) == 1, timeout=WAIT_MS)
    again = reports(app, seen, "ravatar-ps-mic-ready")[-1]
    assert (again.has_mic_track, again.enabled) == (True, False)
    wait_quiet_frames(app, 2 * SPEECH_FRAMES)
    assert mic_facts(app)["speech"] is False and not app.controller.page_mic.is_open
    assert UNMUTE not in app.controller.page_mic.commands_sent
    # Holding to talk works on the new track.
    app.window.talk_bar.begin_talk()
    app.qtbot.waitUntil(lambda: mic_facts(app)["speech"], timeout=WAIT_MS)
    app.window.talk_bar.end_talk()


def test_an_older_page_is_told_again_and_the_user_is_told_why(make_app, speaking_page) -> None:
    app = make_app(sim=web_stream(page_mic_handshake=False), settings=page_route())
    app.go_live()
    page_mic = app.controller.page_mic
    # No answer ever: the wish is stated again and again, and the user reads why once.
    app.qtbot.waitUntil(lambda: page_mic.commands_sent.count(MUTE) >= 3, timeout=WAIT_MS)
    notice = UNANSWERED_NOTICE.format(seconds=2)
    app.qtbot.waitUntil(lambda: notice in notices(app), timeout=WAIT_MS)
    assert not page_mic.answered and not page_mic.confirmed
    # The page obeys all the same: silence while muted, speech while held.
    wait_quiet_frames(app, 2 * SPEECH_FRAMES)
    assert mic_facts(app)["speech"] is False
    app.window.talk_bar.begin_talk()
    app.qtbot.waitUntil(lambda: mic_facts(app)["speech"], timeout=WAIT_MS)
    app.window.talk_bar.end_talk()
    sent = len(page_mic.commands_sent)
    app.qtbot.waitUntil(lambda: len(page_mic.commands_sent) > sent, timeout=WAIT_MS)
    assert page_mic.commands_sent[-1] == MUTE  # the restated wish follows the release
    assert notices(app).count(notice) == 1


def notices(app: Any) -> list[str]:
    return app.window.conversation.texts(Role.NOTICE)


def test_the_app_route_gives_the_page_no_microphone(make_app) -> None:
    app = make_app(sim=web_stream(), settings=page_route(voice_route="app"))
    app.go_live()
    assert not allows_microphone(app)
    app.window.session_button.click()
    app.wait_session(SessionState.ENDED)

    settings = app.controller.settings.replace(voice_route="page")
    app.window.apply_settings(settings)
    app.go_live()
    assert allows_microphone(app)


def test_the_page_route_leaves_the_avatar_s_sound_to_the_page(make_app) -> None:
    """With the microphone, the page cancels its own echo, and the browser's canceller hears
    the page's own playback: the probe taps the avatar's track but leaves the page's element
    playing it (in the app's route it plays it itself: tests/gui/test_stream_players.py)."""
    app = make_app(sim=web_stream(stream_voice=True), settings=page_route())
    app.go_live()
    reference = app.controller.echo_reference
    app.qtbot.waitUntil(lambda: reference.web_blocks >= 3, timeout=WAIT_MS)
    assert allows_microphone(app)
    assert frame_js(app, "document.querySelector('video').muted") is False
    # The app's gain does not reach the page's sound, so the reference must not follow it.
    peaks: list[int] = []
    clock = PageClock()

    def on_far_end(data: str) -> None:
        block = parse_far_end(data, time.monotonic(), clock)
        if isinstance(block, FarEndBlock):
            peaks.append(int(np.abs(block.samples.astype(np.int32)).max()))

    app.controller.players.web_far_end.connect(on_far_end)
    app.window.stream_view.set_avatar_gain(0.0)
    app.controller.chat.send_text("Tell me more")
    app.qtbot.waitUntil(lambda: any(peak > 1000 for peak in peaks), timeout=WAIT_MS)


def allows_microphone(app: Any) -> bool:
    """What the stream frame's own document says about the microphone (its permissions
    policy, set by the host page's `allow` list)."""
    return frame_js(app, "document.featurePolicy.allowsFeature('microphone')") is True


# --- the native player's microphone track ------------------------------------------------------
def test_the_native_player_sends_speech_on_its_microphone_track(make_app, speech_wav) -> None:
    # The app's microphone replays espeak-ng speech (FileReplayCapture, real time, a second of
    # silence between repeats); the app's own player sends it as the WebRTC audio track (Opus);
    # the simulator's streamer cuts it into utterances and answers on the chat socket. A pause
    # of 4 s ends an utterance: the whole hold is one, unless a loaded machine stalls the
    # sending loop that long (a 1.5 s stall once cut it, and the short first part was dropped
    # as too short to be speech), so what the streamer heard is read across its utterances.
    app = make_app(sim=quick_simulator(stream_webrtc=True, utterance_gap_s=4.0),
                   settings=page_route(stream_player="native"))
    app.go_live()
    native = app.controller.players.native
    assert app.controller.players.active is PlayerKind.NATIVE and native is not None
    feed = app.controller.native_mic
    app.qtbot.waitUntil(lambda: feed.running and mic_facts(app)["frames"] > 0, timeout=WAIT_MS)
    # Not held: the track sends silence, though the microphone hears speech all along.
    wait_quiet_frames(app, 3 * SPEECH_FRAMES)
    assert mic_facts(app)["speech"] is False and feed.samples_pushed > 0
    assert native.microphone is not None and native.microphone.audio_frames_sent == 0

    sentence = np.frombuffer(wav_to_pcm16k(speech_wav.read_bytes()), dtype="<i2")
    app.window.talk_bar.begin_talk()
    app.qtbot.waitUntil(lambda: mic_facts(app)["speech"], timeout=WAIT_MS)
    # Held through the whole sentence once more: it repeats after a second of silence and the
    # hold began somewhere inside it, so a full sentence lies within two sentences and a pause.
    pushed = feed.samples_pushed
    app.qtbot.waitUntil(lambda: feed.samples_pushed - pushed > 2 * len(sentence) + 16_000,
                        timeout=WAIT_MS)
    app.window.talk_bar.end_talk()
    conversation = app.window.conversation
    app.qtbot.waitUntil(lambda: len(conversation.texts(Role.AVATAR)) >= 1, timeout=WAIT_MS)
    heard = np.concatenate([np.frombuffer(u.pcm, dtype="<i2")
                            for u in app.sim.utterances if u.source == "stream-mic"])
    # What the streamer heard is the sentence itself (through Opus and back), not noise: each
    # half second of it is found in the utterance (windows, not the whole sentence at once: a
    # capture hiccup shifts what follows by a frame).
    windows = spoken_windows(sentence)
    found = [best_match(heard, window) > 0.8 for window in windows]
    # On a loaded machine the loop can stall: the capture queue or the track's feed then drops
    # old audio and the track may run dry (silence until its prebuffer refills). Each such gap
    # spoils the windows it falls into, and only those; they are counted, not guessed.
    track = native.microphone
    gaps = (track.drops + track.underruns + app.controller.voice.controller.capture.overflow_count
            + -(-track.dropped_samples // len(windows[0])))
    assert len(windows) >= 4 and sum(found) >= max(2, 0.8 * len(windows) - gaps), (found, gaps)
    # Never both routes: nothing went to the chat socket as PCM.
    assert not [m for m in app.sim.messages if m.get("audio_base64_pcm")]


def spoken_windows(samples: np.ndarray, seconds: float = 0.5) -> list[np.ndarray]:
    """The half-second stretches of `samples` that hold speech (not the pauses)."""
    size = round(seconds * 16_000)
    windows = [samples[i:i + size] for i in range(0, len(samples) - size + 1, size)]
    return [w for w in windows if np.sqrt(np.mean(w.astype(np.float64) ** 2)) > 500]

"""The demo understands speech: a sentence spoken into the virtual microphone ends up, as words,
in the window's conversation.

espeak-ng speaks into the PulseAudio virtual microphone (tests/e2e/conftest.py); the app's real
capture backend hears it; hands-free sends it to the embedded simulator exactly as `make run`
starts it (its recogniser, pocketsphinx, is the `asr` extra `make run` installs); the reply's
quote puts the recognised words into the user's bubble. Only the simulator's video stream and
the avatar's synthesized voice are off (no GPU or sound card here); recognition is the demo's.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from ravatar_live.audio.capture_default import default_capture
from ravatar_live.live.states import SessionState, StreamStage
from ravatar_live.settings import Settings
from ravatar_live.simulator.server import SimulatorConfig
from ravatar_live.simulator.transcriber import pocketsphinx_available
from ravatar_live.ui.conversation import PENDING_VOICE_TEXT, Role
from tests.gui.conftest import aloop, make_app, qloop, speech_wav  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.e2e, pytest.mark.gui]

USER_ID = "0123456789abcdef01234567"
SENTENCE = "What is the weather like today?"


@pytest.fixture(scope="module")
def spoken(tmp_path_factory: pytest.TempPathFactory) -> Path:
    espeak = shutil.which("espeak-ng")
    assert espeak, "espeak-ng is required (Debian: apt-get install espeak-ng)"
    raw = tmp_path_factory.mktemp("demo-speech") / "raw.wav"
    subprocess.run([espeak, "-v", "en-us", "-s", "140", "-w", str(raw), SENTENCE], check=True,
                   timeout=30)
    padded = raw.with_name("sentence.wav")  # a person pauses before and after speaking
    subprocess.run(["sox", str(raw), str(padded), "pad", "0.5", "1"], check=True, timeout=30)
    return padded


@pytest.mark.timeout(120)
def test_a_spoken_sentence_appears_as_words_in_the_conversation(make_app, virtual_mic,  # noqa: F811
                                                                spoken, qtbot) -> None:
    assert pocketsphinx_available(), "the asr extra (pocketsphinx) is what `make run` installs"
    demo = SimulatorConfig(stream_webrtc=False, stream_voice=False)
    assert demo.transcribe, "the demo's simulator recognises speech by default"
    app = make_app(sim=demo, settings=Settings(user_id=USER_ID, voice_mode="vad"),
                   capture=default_capture())
    app.go_live()
    assert app.controller.session.state is SessionState.LIVE
    assert app.controller.stream.stage is StreamStage.PLAYING
    voice = app.controller.voice
    qtbot.waitUntil(lambda: voice.controller.mic_open and voice.state == "listening",
                    timeout=15_000)
    heard = []
    voice.level_changed.connect(lambda rms, _peak: heard.append(rms))
    qtbot.waitUntil(lambda: bool(heard), timeout=15_000)  # audio flows (first read can lag)
    player = subprocess.Popen(["paplay", "-d", "vsink", str(spoken)])
    conversation = app.window.conversation
    try:
        qtbot.waitUntil(lambda: len(conversation.texts(Role.AVATAR)) >= 1, timeout=60_000)
    finally:
        assert player.wait(timeout=60) == 0
    said = " ".join(conversation.texts(Role.USER)).lower()
    assert PENDING_VOICE_TEXT.lower() not in said
    assert "could not make out" not in " ".join(conversation.texts(Role.AVATAR))
    assert sum(word in said for word in ("what", "weather", "like", "today")) >= 2, said

"""The talk bar says what keeps the avatar's voice out of hands-free, as it changes: half-duplex
while nothing hands over the avatar's audio, echo cancellation while a player does, off when the
user turns it off in the settings.

The microphone is the file-replay capture (no sound card here). GUI tests' native player has no
audio device, so nothing plays and its playback tap stays silent; the test hands blocks to the
far-end reference itself, as that tap does while the player plays (its real use is in
tests/e2e/test_echo_e2e.py).
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from PySide6.QtCore import QTimer

from ravatar_live.audio.pcm import SAMPLE_RATE
from ravatar_live.settings import Settings
from ravatar_live.ui.eliding_label import ElidingLabel
from ravatar_live.ui.talk_bar import ECHO_TEXT, ECHO_TIP

pytestmark = pytest.mark.gui

USER_ID = "0123456789abcdef01234567"
BLOCK_S = 0.02


def shows_tip(label: ElidingLabel, tip: str) -> bool:
    """The explanation is the tooltip (unless the text is cut: then the full text is) and what
    a screen reader describes."""
    return label.accessibleDescription() == tip and (label.is_elided()
                                                     or label.toolTip() == tip)


def test_the_talk_bar_says_which_echo_protection_is_active(make_app, qtbot) -> None:
    app = make_app(settings=Settings(user_id=USER_ID, voice_mode="vad"))
    app.go_live()
    voice = app.controller.voice
    label = app.window.talk_bar.echo_label
    qtbot.waitUntil(lambda: voice.controller.mic_open and voice.controller.state == "listening",
                    timeout=30_000)
    # Nothing hands over the avatar's audio: half-duplex.
    assert voice.echo_protection == "half-duplex"
    assert label.full_text() == "Half-duplex: speak up to interrupt"
    assert shows_tip(label, ECHO_TIP["half-duplex"])

    far_end = voice.controller.echo.far_end
    block = np.zeros(round(BLOCK_S * SAMPLE_RATE), np.int16)
    tap = QTimer()
    tap.setInterval(round(BLOCK_S * 1000))
    tap.timeout.connect(lambda: far_end.feed(block, SAMPLE_RATE, time.monotonic()))
    tap.start()
    try:
        qtbot.waitUntil(lambda: label.full_text() == "Echo cancellation on", timeout=10_000)
        assert shows_tip(label, ECHO_TIP["echo-cancellation"])
    finally:
        tap.stop()
    # The player stopped handing its audio over: back to half-duplex.
    qtbot.waitUntil(lambda: label.full_text() == ECHO_TEXT["half-duplex"], timeout=10_000)

    app.controller.update_settings(app.controller.settings.replace(echo_cancellation=False))
    qtbot.waitUntil(lambda: label.full_text() == "Echo cancellation off", timeout=10_000)
    assert shows_tip(label, ECHO_TIP["off"]) and "headphones" in ECHO_TIP["off"]
    assert voice.echo_protection == "off"

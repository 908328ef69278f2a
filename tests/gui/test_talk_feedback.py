"""What the user sees of their own voice: the bubble as soon as a take is sent, its words once
heard; and the microphone's mute, which really closes it (also across a new session)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from ravatar_live.live.states import SessionState
from ravatar_live.ui.conversation import PENDING_VOICE_TEXT, Role

pytestmark = pytest.mark.gui


def pcm_messages(app) -> list[dict]:
    return [m for m in app.sim.messages if "audio_base64_pcm" in m]


def test_your_voice_bubble_shows_when_the_take_is_sent(make_app, qtbot) -> None:
    app = make_app()
    app.go_live()
    conversation = app.window.conversation
    button = app.window.talk_bar.talk_button
    with qtbot.waitSignal(app.controller.voice.take_started, timeout=10_000):
        qtbot.mousePress(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(pcm_messages(app)) >= 2, timeout=10_000)
    with qtbot.waitSignal(app.controller.voice.take_sent, timeout=10_000):
        qtbot.mouseRelease(button, Qt.MouseButton.LeftButton)
    # At once, before any reply: the user's bubble, waiting for its words.
    assert conversation.texts(Role.AVATAR) == []
    last = conversation.entries[-1]
    assert (last.role, last.via, last.pending, last.text) == (Role.USER, "voice", True,
                                                             PENDING_VOICE_TEXT)
    assert conversation.bubbles()[-1].text_label.text() == PENDING_VOICE_TEXT
    # The reply brings what the server heard into that same bubble, above the reply.
    qtbot.waitUntil(lambda: len(conversation.texts(Role.AVATAR)) == 1, timeout=30_000)
    roles = [(e.role, e.pending) for e in conversation.entries]
    assert roles == [(Role.USER, False), (Role.AVATAR, False)]
    heard = conversation.entries[0].text
    assert heard and heard != PENDING_VOICE_TEXT
    assert conversation.bubbles()[0].text_label.text().replace("\u200b", "") == heard


def test_mute_closes_the_microphone_until_unmuted(make_app, qtbot) -> None:
    app = make_app()
    app.go_live()
    voice = app.controller.voice
    bar = app.window.talk_bar
    qtbot.waitUntil(lambda: voice.controller.mic_open, timeout=10_000)
    bar.mute_button.click()
    assert voice.muted and not voice.controller.mic_open
    assert not bar.talk_button.isEnabled() and not bar.record_button.isEnabled()
    assert bar.state_label.full_text() == "Microphone muted"
    bar.begin_talk()  # e.g. the push-to-talk key: nothing happens while muted
    assert not bar.talking and voice.controller.state == "idle"
    # A new session does not open it again behind the user's back.
    app.window.session_button.click()
    app.wait_session(SessionState.ENDED)
    app.go_live()
    assert voice.muted and not voice.controller.mic_open
    assert bar.mute_button.isChecked()
    bar.mute_button.click()
    qtbot.waitUntil(lambda: voice.controller.mic_open, timeout=10_000)
    assert bar.talk_button.isEnabled() and bar.state_label.full_text() == "Ready"

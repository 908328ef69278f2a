"""Talking to the avatar: text, hold-to-talk (mouse and Space), record-and-send, hands-free.

The microphone is the audio layer's file-replay capture playing an espeak-ng sentence in real
time (CI has no sound card); everything after it (VAD, PCM chunks, WebSocket, simulator, reply,
conversation pane) is the real thing.
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from ravatar_live.api.models import EventMessage, SystemNotice, Unrecognised
from ravatar_live.settings import Settings
from ravatar_live.ui.banner import BannerKind
from ravatar_live.ui.conversation import Role

pytestmark = pytest.mark.gui

USER_ID = "0123456789abcdef01234567"


def pcm_messages(app) -> list[dict]:
    return [m for m in app.sim.messages if "audio_base64_pcm" in m]


def wait_for_reply(app, count: int = 1) -> None:
    app.qtbot.waitUntil(lambda: len(app.window.conversation.texts(Role.AVATAR)) >= count,
                        timeout=30_000)


def test_typed_text_gets_an_answer_in_the_conversation(make_app, qtbot) -> None:
    app = make_app()
    app.wait_connected()
    w = app.window
    qtbot.keyClicks(w.message_edit, "What can you do?")
    qtbot.keyClick(w.message_edit, Qt.Key.Key_Return)
    assert w.message_edit.text() == ""
    wait_for_reply(app)
    entries = w.conversation.entries
    assert entries[0].role is Role.USER and entries[0].text == "What can you do?"
    assert entries[0].via == "typed"
    assert entries[1].role is Role.AVATAR and entries[1].text
    sent = app.sim.messages[-1]
    assert sent["request"] == "What can you do?" and sent["isLive"] is False


def test_text_during_a_live_session_carries_the_license(make_app, qtbot) -> None:
    app = make_app()
    license_id = app.go_live()
    app.window.message_edit.setText("Hello")
    app.window.send_button.click()
    wait_for_reply(app)
    assert app.sim.messages[-1]["LicenseId"] == license_id
    assert app.sim.messages[-1]["isLive"] is True


def test_hold_to_talk_with_the_mouse_sends_a_voice_take(make_app, qtbot) -> None:
    app = make_app()
    license_id = app.go_live()
    button = app.window.talk_bar.talk_button
    with qtbot.waitSignal(app.controller.voice.take_started, timeout=10_000):
        qtbot.mousePress(button, Qt.MouseButton.LeftButton)
    assert app.window.talk_bar.state_label.text() == "Recording…"
    qtbot.waitUntil(lambda: len(pcm_messages(app)) >= 2, timeout=10_000)
    qtbot.mouseRelease(button, Qt.MouseButton.LeftButton)
    wait_for_reply(app)
    chunks = pcm_messages(app)
    assert all(m["LicenseId"] == license_id and m["isLive"] is True for m in chunks)
    user_turns = [e for e in app.window.conversation.entries if e.role is Role.USER]
    assert user_turns and user_turns[0].via == "voice"
    assert len(app.sim.utterances) == 1


def test_holding_space_talks_unless_typing(make_app, qtbot) -> None:
    app = make_app()
    app.go_live()
    w = app.window
    w.activateWindow()
    w.setFocus()
    with qtbot.waitSignal(app.controller.voice.take_started, timeout=10_000):
        qtbot.keyPress(w, Qt.Key.Key_Space)
    assert w.talk_bar.talking
    qtbot.waitUntil(lambda: len(pcm_messages(app)) >= 2, timeout=10_000)
    qtbot.keyRelease(w, Qt.Key.Key_Space)
    assert not w.talk_bar.talking
    wait_for_reply(app)
    # In the text box, Space is just a space.
    w.message_edit.setFocus()
    qtbot.keyClick(w.message_edit, Qt.Key.Key_Space)
    assert not w.talk_bar.talking
    assert w.message_edit.text() == " "


def test_record_and_send(make_app, qtbot) -> None:
    app = make_app()
    app.go_live()
    bar = app.window.talk_bar
    bar.record_button.click()
    assert bar.recording and bar.record_button.text() == "Stop && send"  # shows "Stop & send"
    qtbot.waitUntil(lambda: len(pcm_messages(app)) >= 2, timeout=10_000)
    bar.record_button.click()
    assert not bar.recording and bar.record_button.text() == "Record"
    wait_for_reply(app)
    assert len(app.sim.utterances) == 1


def test_takes_can_go_as_one_wav_file(make_app, qtbot) -> None:
    app = make_app(settings=Settings(user_id=USER_ID, stream_takes_as_pcm=False))
    app.go_live()
    button = app.window.talk_bar.talk_button
    with qtbot.waitSignal(app.controller.voice.take_started, timeout=10_000):
        qtbot.mousePress(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: app.controller.voice.controller.state == "recording",
                    timeout=5_000)
    qtbot.wait(600)  # the length of the take (a user holding the button), not a sync
    qtbot.mouseRelease(button, Qt.MouseButton.LeftButton)
    wait_for_reply(app)
    blobs = [m for m in app.sim.messages if "file_base64_data" in m]
    assert len(blobs) == 1 and blobs[0]["isPushToTalk"] is True
    assert not pcm_messages(app)


def test_hands_free_listens_and_sends_on_its_own(make_app, qtbot) -> None:
    app = make_app()
    app.go_live()
    bar = app.window.talk_bar
    bar.hands_free_button.click()
    assert app.controller.voice.hands_free
    qtbot.waitUntil(lambda: bar.state_label.text() in ("Listening…", "Hearing you…"),
                    timeout=5_000)
    wait_for_reply(app)
    assert app.sim.utterances, "hands-free sent a take without any click"
    bar.hands_free_button.click()
    assert not app.controller.voice.hands_free


def test_voice_mode_from_settings_starts_hands_free(make_app, qtbot) -> None:
    app = make_app(settings=Settings(user_id=USER_ID, voice_mode="vad"))
    app.go_live()
    assert app.window.talk_bar.hands_free_button.isChecked()
    qtbot.waitUntil(lambda: app.window.talk_bar.state_label.text() != "Ready", timeout=5_000)


def test_microphone_picker_lists_devices(make_app) -> None:
    app = make_app()
    picker = app.window.talk_bar.mic_picker
    labels = [picker.itemText(i) for i in range(picker.count())]
    assert labels[0] == "System default"
    assert any("Replay of hello.wav" in label for label in labels)


def test_no_microphone_is_explained(make_app, qtbot) -> None:
    app = make_app(microphone=False)
    app.go_live()
    w = app.window
    assert w.talk_bar.mic_picker.itemText(0) == "No microphone found"
    assert w.talk_bar.state_label.text() == "No microphone"
    assert w.banner.kind is BannerKind.ERROR and w.banner.title() == "No microphone"


def test_server_notices_and_odd_messages_in_the_conversation(make_app) -> None:
    app = make_app()
    chat = app.controller.chat
    chat.on_server_message(SystemNotice("The avatar is thinking"))
    chat.on_server_message(EventMessage("", {"type": "event"}))
    chat.on_server_message(Unrecognised("{}", "frame has no 'type'"))
    assert app.window.conversation.texts() == ["The avatar is thinking"]
    assert app.window.conversation.entries[0].role is Role.NOTICE

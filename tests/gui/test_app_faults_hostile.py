"""Hostile input through the app's own message handling (ChatService on a ServiceConnection).

A hostile simulator (embedded, real socket) buries every real reply under random frames; the
real replies must all reach the conversation, in order, with no exception escaping the loop or a
slot. A hypothesis property test feeds arbitrary frames (JSON values and raw bytes) through the
same path the socket reader uses.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ravatar_live.api.ws import decode_frame
from ravatar_live.live.chat import MAX_NOTICE_CHARS, MAX_REPLY_CHARS
from ravatar_live.simulator.replies import compose_reply
from ravatar_live.simulator.server import SimulatorConfig
from ravatar_live.ui.conversation import Role
from tests.gui.conftest import wait_while_progressing

pytestmark = pytest.mark.gui

MESSAGES = 40
JUNK_PER_REPLY = 60


@pytest.fixture
def escaped(aloop, monkeypatch) -> Iterator[list[str]]:
    """Every exception that escapes to the event loop or to a Qt slot, as text."""
    caught: list[str] = []
    previous = aloop.get_exception_handler()

    def on_loop_error(_loop: Any, context: dict[str, Any]) -> None:
        caught.append(f"loop: {context.get('message')} {context.get('exception')!r}")

    def on_slot_error(kind: type[BaseException], exc: BaseException, _tb: Any) -> None:
        caught.append(f"slot: {kind.__name__}: {exc}")

    aloop.set_exception_handler(on_loop_error)
    monkeypatch.setattr(sys, "excepthook", on_slot_error)
    yield caught
    aloop.set_exception_handler(previous)


def test_real_replies_get_through_a_hostile_server(make_app, escaped, qtbot) -> None:
    app = make_app(sim=SimulatorConfig(
        transcribe=False, stream_webrtc=False, stream_voice=False, hostile=True,
        hostile_frames_per_message=JUNK_PER_REPLY, hostile_seed=11))
    license_id = app.go_live()
    w = app.window
    info = app.controller.connection.info
    avatar = info.avatar(app.controller.avatar_id) if info is not None else None
    assert avatar is not None
    texts = [f"Question number {n}, please?" for n in range(MESSAGES)]
    expected = [compose_reply(t, avatar.name) for t in texts]
    for text in texts:
        app.controller.chat.send_text(text)

    def real_replies() -> list[str]:
        wanted = set(expected)
        return [t for t in w.conversation.texts(Role.AVATAR) if t in wanted]

    # Thousands of junk frames take what the machine's speed decides: wait while replies come.
    wait_while_progressing(qtbot, lambda: len(real_replies()) == MESSAGES,
                           lambda: len(real_replies()))
    # Every real reply arrived, in order, among whatever junk looked like a reply.
    assert real_replies() == expected
    assert app.sim.hostile_frames_sent >= MESSAGES * JUNK_PER_REPLY
    assert all(len(t) <= MAX_REPLY_CHARS + 4 for t in w.conversation.texts(Role.AVATAR))
    assert all(len(t) <= MAX_NOTICE_CHARS + 4 for t in w.conversation.texts(Role.NOTICE))
    assert escaped == []
    # The session still ends cleanly.
    app.window.session_button.click()
    app.qtbot.waitUntil(lambda: app.sim.stats()["live"] == 0, timeout=10_000)
    assert license_id not in app.sim.live_license_ids()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner,
                                                                max_size=4),
    max_leaves=20)
field_values = st.text(max_size=40) | json_values  # mostly text: the shapes that get shown
shaped = st.fixed_dictionaries(
    {"type": st.sampled_from(["incoming", "system", "event", "INCOMING", "other"])},
    optional={"answer": field_values, "content": field_values, "message": field_values,
              "text": field_values, "fileUrl": field_values, "audio_base64": field_values})
frames = (json_values.map(json.dumps) | shaped.map(json.dumps) | st.binary(max_size=200)
          | st.text(max_size=200))


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(frame=frames)
def test_any_frame_through_the_app_handling_never_raises(make_app_once, frame) -> None:
    app, escaped = make_app_once
    before = len(app.window.conversation.entries)
    app.controller.connection._deliver(decode_frame(frame))  # what the socket reader does
    assert escaped == []
    assert len(app.window.conversation.entries) - before <= 2  # at most a quote and a reply


@pytest.fixture
def make_app_once(make_app, escaped) -> tuple[Any, list[str]]:
    # One window for all examples: the property is about the handling, not the start-up.
    return make_app(), escaped

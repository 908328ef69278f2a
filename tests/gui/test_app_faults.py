"""Faults injected for real into the simulator while the real window and services run.

Connection faults: the chat socket dropped mid-session (typed text queued and delivered after the
reconnect), dropped mid-take (the take resent whole), a stalled server (caught by the heartbeat),
a sign-in that cannot be renewed. Session faults: 403 once on any call, /endLiveSession failing
while the app runs and at exit (retried, journaled, ended at the next launch and the user told),
the stream page closing the stream. The simulator runs embedded (demo) or on its own thread as a
remote service (journal tests: the journal is only kept for real services).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace

import pytest
from PySide6.QtCore import Qt

from ravatar_live.api.backoff import CHAT_RECONNECT, BackoffPolicy
from ravatar_live.api.reconnect import LinkState
from ravatar_live.live.chat import QUEUED_NOTICE
from ravatar_live.live.connection import REQUEST_TIMEOUT_S
from ravatar_live.live.controller import STREAM_CLOSED_NOTICE
from ravatar_live.live.license_journal import LicenseJournal
from ravatar_live.live.states import ConnectionState, SessionState, StreamStage
from ravatar_live.settings import Settings
from ravatar_live.simulator.server import SimulatorConfig
from ravatar_live.simulator.threaded import SimulatorThread
from ravatar_live.ui.banner import BannerKind
from ravatar_live.ui.conversation import Role

pytestmark = pytest.mark.gui

USER_ID = "0123456789abcdef01234567"
# Quick reconnects: the first retry within 50 ms, later ones within 200 ms.
FAST_BACKOFF = replace(CHAT_RECONNECT, base_s=0.05, cap_s=0.2)


def link_state(app) -> LinkState | None:
    link = app.controller.connection.link
    return link.state if link is not None else None


def pcm_messages(app) -> list[dict]:
    return [m for m in app.sim.messages if "audio_base64_pcm" in m]


def notices(app) -> list[str]:
    return app.window.conversation.texts(Role.NOTICE)


def fast_reconnects(app) -> None:
    app.controller.connection.chat_backoff = FAST_BACKOFF


@pytest.fixture
def remote() -> Iterator[SimulatorThread]:
    with SimulatorThread(SimulatorConfig(port=0, transcribe=False, stream_webrtc=False,
                                         stream_voice=False)) as sim:
        yield sim


def remote_settings(sim: SimulatorThread) -> Settings:
    return Settings(user_id=USER_ID, project_id="faults-test", api_url=sim.base_url)


# --- the chat link ---------------------------------------------------------------------------
def test_text_typed_while_the_chat_reconnects_is_sent_after_it_is_back(make_app, qtbot) -> None:
    app = make_app(connect=False)
    app.controller.connection.chat_backoff = replace(CHAT_RECONNECT, base_s=0.5, cap_s=1.0)
    app.run(app.controller.startup(start_session=False))
    license_id = app.go_live()
    w = app.window
    # The server drops every chat socket and refuses the next two upgrades (503).
    app.sim.inject_fault(route="/ws/chat", status=503, count=2)
    dropped_at = time.monotonic()
    assert app.run(app.sim.drop_chat_sockets()) == 1
    qtbot.waitUntil(lambda: link_state(app) is LinkState.RECONNECTING, timeout=10_000)
    assert w.banner.kind is BannerKind.WARNING
    assert w.banner.title() == "Chat connection lost"
    assert "Reconnecting" in w.banner.text()
    # The user keeps typing: the box stays usable and the text is queued, not lost.
    assert w.message_edit.isEnabled()
    qtbot.keyClicks(w.message_edit, "Are you still there?")
    qtbot.keyClick(w.message_edit, Qt.Key.Key_Return)
    assert "Are you still there?" in w.conversation.texts(Role.USER)
    assert QUEUED_NOTICE in notices(app)
    sent = app.run(app.sim.wait_for_message(lambda m: m.get("request") == "Are you still there?",
                                            within_s=20))
    reconnect_s = time.monotonic() - dropped_at
    assert sent["LicenseId"] == license_id, "the queued text still belongs to the live session"
    qtbot.waitUntil(lambda: len(w.conversation.texts(Role.AVATAR)) >= 1, timeout=10_000)
    assert link_state(app) is LinkState.CONNECTED
    assert "The chat connection is back." in notices(app)
    # The stale "connection lost" warning gives way to a short all-clear.
    qtbot.waitUntil(lambda: w.banner.title() != "Chat connection lost", timeout=5_000)
    assert w.banner.kind is BannerKind.SUCCESS
    assert w.banner.title() == "Chat connection restored"
    # The session was never given up.
    assert app.controller.session.state is SessionState.LIVE
    assert app.sim.live_license_ids() == [license_id]
    assert reconnect_s < 10, f"reconnecting took {reconnect_s:.1f} s"


def test_a_take_cut_by_a_dropped_connection_is_sent_again_whole(make_app, qtbot) -> None:
    # A long utterance gap: a capture stall on a loaded machine must not split the resent take.
    app = make_app(connect=False, sim=SimulatorConfig(
        transcribe=False, utterance_gap_s=2.0, stream_webrtc=False, stream_voice=False))
    fast_reconnects(app)
    app.run(app.controller.startup(start_session=False))
    app.go_live()
    button = app.window.talk_bar.talk_button
    with qtbot.waitSignal(app.controller.voice.take_started, timeout=10_000):
        qtbot.mousePress(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(pcm_messages(app)) >= 3, timeout=10_000)
    app.sim.inject_fault(route="/ws/chat", status=503, count=1)
    sent_before_drop = len(pcm_messages(app))
    app.run(app.sim.drop_chat_sockets())
    # The fragment the server heard before the drop becomes an utterance of its own.
    fragment = app.run(app.sim.wait_for_utterances(1))[0]
    qtbot.waitUntil(lambda: link_state(app) is LinkState.CONNECTED, timeout=10_000)
    # Hold the button until the resent fragment AND a few new chunks have reached the server
    # (counting from the link coming back raced with the resend itself).
    resent_and_more = sent_before_drop + len(fragment.pcm) // 8192 + 3
    qtbot.waitUntil(lambda: len(pcm_messages(app)) >= resent_and_more, timeout=15_000)
    qtbot.mouseRelease(button, Qt.MouseButton.LeftButton)
    whole = app.run(app.sim.wait_for_utterances(2))[1]
    # The take was resent from its first chunk: it starts with what the fragment started with
    # and is longer than the fragment.
    assert whole.pcm[:8192] == fragment.pcm[:8192]
    assert len(whole.pcm) > len(fragment.pcm) + 2 * 8192
    qtbot.waitUntil(lambda: len(app.window.conversation.texts(Role.AVATAR)) >= 1,
                    timeout=20_000)
    assert app.controller.session.state is SessionState.LIVE


def test_a_stalled_server_is_caught_by_the_heartbeat(make_app, qtbot) -> None:
    app = make_app(connect=False)
    # aiohttp pings after this much silence and drops the link when the pong is half as late.
    app.controller.connection.chat_heartbeat_s = 1.0
    fast_reconnects(app)
    app.run(app.controller.startup(start_session=False))
    app.wait_connected()
    sim = app.sim
    sim.stall_chat(True)  # new sockets are accepted and then never answered
    app.run(sim.drop_chat_sockets())
    qtbot.waitUntil(lambda: link_state(app) is LinkState.RECONNECTING, timeout=10_000)
    # The reconnect lands on the stalled server; the missed pong must take the link down again.
    qtbot.waitUntil(lambda: (app.controller.connection.link is not None
                             and app.controller.connection.link.state is LinkState.RECONNECTING
                             and "stopped answering" in str(app.controller.connection.link.error)),
                    timeout=15_000)
    sim.stall_chat(False)
    qtbot.waitUntil(lambda: link_state(app) is LinkState.CONNECTED, timeout=15_000)
    app.window.message_edit.setText("Back again?")
    app.window.send_button.click()
    app.run(sim.wait_for_message(lambda m: m.get("request") == "Back again?"))


def test_a_sign_in_that_cannot_be_renewed_is_shown_as_a_sign_in_problem(make_app, qtbot) -> None:
    app = make_app(connect=False)
    fast_reconnects(app)
    app.run(app.controller.startup(start_session=False))
    app.wait_connected()
    app.sim.revoke_tokens()  # the reconnect's token is refused at the upgrade ...
    app.sim.inject_fault(route="/jwt", status=403, count=None)  # ... and renewing it fails
    app.run(app.sim.drop_chat_sockets())
    qtbot.waitUntil(lambda: app.controller.connection.state is ConnectionState.FAILED,
                    timeout=10_000)
    assert link_state(app) is LinkState.CLOSED
    banner = app.window.banner
    assert banner.kind is BannerKind.ERROR
    assert banner.title() == "Sign-in refused"
    assert "sign-in" in banner.text().lower()
    app.sim.clear_faults()
    banner.action("Try again").click()
    app.wait_connected()
    qtbot.waitUntil(lambda: link_state(app) is LinkState.CONNECTED, timeout=10_000)


# --- 403 once on any call: one refresh, one retry --------------------------------------------
@pytest.mark.parametrize("route", ["/connection", "/startLiveSession", "/endLiveSession"])
def test_a_403_once_is_renewed_and_retried_without_bothering_the_user(make_app, route) -> None:
    app = make_app(connect=False)
    if route == "/connection":
        app.run(app.controller.connection.open(app.controller.settings, demo=True))
        app.sim.inject_fault(route=route, status=403, count=1)
        app.run(app.controller.connection.open(app.controller.settings, demo=True))
    else:
        app.run(app.controller.startup(start_session=False))
    client = app.controller.connection.client
    assert client is not None
    if route == "/connection":
        # A fresh client: one token for the first try, one more after the 403.
        assert client.tokens_fetched == 2
        assert app.controller.connection.state is ConnectionState.CONNECTED
    tokens_before = client.tokens_fetched
    if route == "/startLiveSession":
        app.sim.inject_fault(route=route, status=403, count=1)
    app.go_live()
    if route == "/endLiveSession":
        app.sim.inject_fault(route=route, status=403, count=1)
    app.window.session_button.click()
    app.wait_session(SessionState.ENDED)
    assert app.sim.stats()["live"] == 0 and app.sim.stats()["ended"] == 1
    assert app.window.banner.title() == "Session ended"
    assert app.window.banner.kind is BannerKind.INFO, "the end was acknowledged"
    assert client.tokens_fetched == tokens_before + (0 if route == "/connection" else 1)


# --- /endLiveSession failures ----------------------------------------------------------------
def test_a_failed_end_is_retried_while_the_app_runs(make_app, remote, qtbot) -> None:
    app = make_app(settings=remote_settings(remote), demo=False)
    app.controller.session.end_retry = BackoffPolicy(base_s=0.1, cap_s=0.2)
    license_id = app.go_live()
    journal = LicenseJournal(app.tmp_path / "licenses.json")
    remote.call(lambda s: s.inject_fault(route="/endLiveSession", status=503, count=3))
    app.window.session_button.click()
    app.wait_session(SessionState.ENDED)
    # Not confirmed yet: the user is told, the license stays journaled, retries go on.
    assert app.window.banner.kind is BannerKind.WARNING
    assert [e.license_id for e in journal.entries()] == [license_id]
    assert app.controller.session.pending_ends == [license_id]
    qtbot.waitUntil(lambda: remote.call(lambda s: s.stats())["live"] == 0, timeout=10_000)
    qtbot.waitUntil(lambda: journal.entries() == [], timeout=5_000)
    # The journal lets go of the license a moment before the session's list does.
    qtbot.waitUntil(lambda: app.controller.session.pending_ends == [], timeout=5_000)
    assert "The service has now confirmed the end of the earlier live session." in notices(app)


def test_an_end_that_fails_at_exit_is_finished_at_the_next_launch(make_app, remote,
                                                                 qtbot) -> None:
    first = make_app(settings=remote_settings(remote), demo=False)
    license_id = first.go_live()
    journal = LicenseJournal(first.tmp_path / "licenses.json")
    remote.call(lambda s: s.inject_fault(route="/endLiveSession", status=500, count=None))
    started = time.monotonic()
    first.close()
    assert time.monotonic() - started < 8, "closing must stay bounded"
    assert remote.call(lambda s: s.live_license_ids()) == [license_id]
    assert [e.license_id for e in journal.entries()] == [license_id], "kept for next time"
    remote.call(lambda s: s.clear_faults())
    # The next launch (same journal) ends it before anything else and says so.
    second = make_app(settings=remote_settings(remote), demo=False)
    assert remote.call(lambda s: s.live_license_ids()) == []
    assert journal.entries() == []
    assert any("ended 1 live session left open" in text for text in notices(second))


def test_a_leftover_that_still_cannot_be_ended_stays_journaled_and_is_retried(
        make_app, remote, qtbot) -> None:
    token = remote.call(lambda s: s.mint_token(USER_ID, "faults-test"))
    assert token
    app = make_app(settings=remote_settings(remote), demo=False, connect=False)
    app.controller.session.end_retry = BackoffPolicy(base_s=0.2, cap_s=0.2)
    journal = LicenseJournal(app.tmp_path / "licenses.json")
    journal.add("license-left-behind", remote.base_url)
    remote.call(lambda s: s.inject_fault(route="/endLiveSession", status=504, count=2))
    app.run(app.controller.startup(start_session=False))
    assert [e.license_id for e in journal.entries()] == ["license-left-behind"]
    assert any("could not be ended yet" in text for text in notices(app))
    qtbot.waitUntil(lambda: journal.entries() == [], timeout=10_000)


# --- the stream page closes the stream --------------------------------------------------------
def test_the_stream_closing_while_live_ends_the_license_and_offers_a_new_start(make_app) -> None:
    app = make_app()
    license_id = app.go_live()
    assert app.run(app.sim.expire_license(license_id))
    app.wait_session(SessionState.ENDED)
    assert app.sim.stats()["live"] == 0
    assert STREAM_CLOSED_NOTICE in notices(app)
    button = app.window.session_button
    assert button.text() == "Start session" and button.isEnabled()
    app.wait_stream(StreamStage.IDLE)
    again = app.go_live()
    assert again != license_id and app.sim.live_license_ids() == [again]


def test_closing_while_the_license_request_is_on_the_wire_still_ends_the_license(
        make_app, qtbot) -> None:
    app = make_app()
    app.wait_connected()
    # The license is handed out at once, the answer takes a while.
    app.sim.inject_fault(route="/startLiveSession", answer_delay_s=0.6)
    app.window.session_button.click()
    app.wait_session(SessionState.STARTING)
    sim = app.sim
    with qtbot.waitSignal(app.window.closed, timeout=10_000):
        app.window.close()
    # The server issued the license after the app had given up waiting for it: the app still
    # took it and ended it before closing.
    assert sim.stats() == {"live": 0, "issued": 1, "ended": 1, "expired": 0}


def test_cancelling_during_the_busy_back_off_stops_at_once(make_app) -> None:
    app = make_app(retry_policy=BackoffPolicy(base_s=5.0, cap_s=5.0, max_attempts=3))
    app.wait_connected()
    app.sim.inject_fault(route="/startLiveSession", status=503, count=1)
    app.window.session_button.click()
    app.qtbot.waitUntil(lambda: "Retrying in" in app.window.banner.text(), timeout=10_000)
    started = time.monotonic()
    app.window.banner.action("Cancel").click()
    app.wait_session(SessionState.IDLE)
    assert time.monotonic() - started < 2, "a cancel during the back-off must not wait it out"
    assert app.sim.stats()["issued"] == 0


# --- bad answers to the REST calls --------------------------------------------------------------
@pytest.mark.parametrize(("fault", "title"), [
    ({"body": "truncated"}, "Unexpected answer from the service"),
    ({"body": "non_json"}, "Unexpected answer from the service"),
    ({"status": 502, "body": "non_json"}, "The service reported an unknown error"),
    ({"status": 504, "count": 4}, "The stream timed out"),
    ({"status": -1}, "The service reported an unknown error"),
    ({"delay_s": 60.0}, "Cannot reach the service"),
])
def test_bad_answers_to_start_are_explained_and_can_be_retried(make_app, fault, title) -> None:
    app = make_app()
    app.wait_connected()
    client = app.controller.connection.client
    assert client is not None
    if "delay_s" in fault:
        # Only this request is held to a short timeout: one a minute late can never beat it,
        # while the other calls keep the default, which no loaded machine misses.
        client.request_timeout_s = 1.0
    app.sim.inject_fault(route="/startLiveSession", **fault)
    app.window.session_button.click()
    app.wait_session(SessionState.ERROR)
    client.request_timeout_s = REQUEST_TIMEOUT_S
    banner = app.window.banner
    assert banner.kind is BannerKind.ERROR
    assert banner.title() == title
    assert banner.text() and "Traceback" not in banner.text()
    assert "Try again" in [b.text() for b in banner.action_buttons()]
    app.sim.clear_faults()
    banner.action("Try again").click()
    app.wait_session(SessionState.LIVE)


def test_503_then_200_at_connect_gets_connected(make_app) -> None:
    app = make_app(connect=False)
    app.run(app.controller.connection.open(app.controller.settings, demo=True))
    app.sim.inject_fault(route="/connection", status=503, count=2)
    assert app.run(app.controller.connection.open(app.controller.settings, demo=True))
    assert app.controller.connection.state is ConnectionState.CONNECTED


def test_what_cannot_be_delivered_is_reported_never_silently_lost(make_app, qtbot) -> None:
    app = make_app(connect=False)
    fast_reconnects(app)
    app.run(app.controller.startup(start_session=False))
    app.go_live()
    sim = app.sim
    sim.inject_fault(route="/ws/chat", status=503, count=None)  # down until further notice
    app.run(sim.drop_chat_sockets())
    qtbot.waitUntil(lambda: link_state(app) is LinkState.RECONNECTING, timeout=10_000)
    app.window.message_edit.setText("Hello?")
    app.window.send_button.click()
    button = app.window.talk_bar.talk_button
    with qtbot.waitSignal(app.controller.voice.take_started, timeout=10_000):
        qtbot.mousePress(button, Qt.MouseButton.LeftButton)
    socket = app.controller.connection.chat_socket
    assert socket is not None
    qtbot.waitUntil(lambda: socket.held_audio_s >= 0.5, timeout=10_000)
    qtbot.mouseRelease(button, Qt.MouseButton.LeftButton)
    # Now the sign-in is refused for good: the link closes and gives up what it held.
    sim.clear_faults()
    sim.revoke_tokens()
    sim.inject_fault(route="/jwt", status=403, count=None)
    qtbot.waitUntil(lambda: link_state(app) is LinkState.CLOSED, timeout=10_000)
    told = notices(app)
    assert "Your voice message was not sent because the chat connection closed." in told
    assert "1 message was not sent because the chat connection closed." in told
    assert app.window.banner.title() == "Sign-in refused"
    assert not [m for m in sim.messages if m.get("request") == "Hello?"]

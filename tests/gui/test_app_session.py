"""The main window against the real embedded simulator: connecting, live sessions, ending."""

from __future__ import annotations

import socket

import pytest

from ravatar_live.api.backoff import BackoffPolicy
from ravatar_live.live.states import ConnectionState, SessionState, StreamStage
from ravatar_live.settings import Settings
from ravatar_live.ui.banner import BannerKind

USER_ID = "0123456789abcdef01234567"

pytestmark = pytest.mark.gui


def test_connects_to_demo_and_only_sensible_controls_are_enabled(make_app) -> None:
    app = make_app()
    w = app.window
    app.wait_connected()
    assert w.status_chip.text() == "Connected"
    assert w.demo_badge.isVisible() and "DEMO" in w.demo_badge.text()
    assert "demo" in w.windowTitle()
    assert "Demo mode" in w.endpoint_label.text()
    assert w.avatar_combo.count() >= 2
    assert w.language_combo.count() >= 2
    assert w.session_button.text() == "Start session"
    assert w.session_button.isEnabled()
    assert w.message_edit.isEnabled()
    assert not w.send_button.isEnabled(), "Send needs text"
    # Voice goes to the avatar only in a live session.
    for button in (w.talk_bar.talk_button, w.talk_bar.record_button,
                   w.talk_bar.hands_free_button):
        assert not button.isEnabled()
    w.message_edit.setText("hi")
    assert w.send_button.isEnabled()


def test_start_goes_live_and_the_stream_page_reports_its_start(make_app) -> None:
    app = make_app()
    license_id = app.go_live()
    w = app.window
    assert app.sim.live_license_ids() == [license_id]
    assert w.status_chip.text() == "● Live"
    assert w.session_button.text() == "End session"
    assert w.banner.title() == "Live"
    assert w.talk_bar.talk_button.isEnabled()
    assert w.talk_bar.record_button.isEnabled()
    assert not w.avatar_combo.isEnabled(), "the avatar cannot change mid-session"


def test_end_button_ends_the_license_at_the_simulator(make_app) -> None:
    app = make_app()
    app.go_live()
    app.window.session_button.click()
    app.wait_session(SessionState.ENDED)
    assert app.sim.stats()["live"] == 0
    assert app.sim.stats()["ended"] == 1
    assert app.window.banner.title() == "Session ended"
    assert app.window.session_button.text() == "Start session"
    assert not app.window.talk_bar.talk_button.isEnabled()
    # And a new session can start.
    app.go_live()
    assert app.sim.stats()["issued"] == 2


def test_closing_the_window_while_live_ends_the_license_first(make_app, qtbot) -> None:
    app = make_app()
    license_id = app.go_live()
    sim = app.sim
    w = app.window
    w.close()  # refused for now: the session has to end first
    assert w.isVisible()
    assert w.banner.title() == "Ending session…"
    assert not w.session_button.isEnabled()
    with qtbot.waitSignal(w.closed, timeout=10_000):
        pass
    assert not w.isVisible()
    assert license_id not in sim.live_license_ids()
    assert sim.stats() == {"live": 0, "issued": 1, "ended": 1, "expired": 0}


def test_ctrl_q_takes_the_same_close_path(make_app, qtbot) -> None:
    app = make_app()
    app.go_live()
    sim = app.sim
    with qtbot.waitSignal(app.window.closed, timeout=10_000):
        app.window.quit_action.trigger()
    assert sim.stats()["ended"] == 1 and sim.stats()["live"] == 0


def test_close_with_an_unresponsive_server_is_bounded(make_app, qtbot) -> None:
    app = make_app()
    app.go_live()
    sim = app.sim
    sim.inject_fault(route="/endLiveSession", delay_s=10.0, count=1)
    with qtbot.waitSignal(app.window.closed, timeout=6_000):
        app.window.close()
    # The end was not acknowledged in time, but the window did not hang.
    assert not app.window.isVisible()


def test_stream_close_from_the_server_ends_the_session(make_app) -> None:
    app = make_app()
    license_id = app.go_live()
    assert app.run(app.sim.expire_license(license_id))
    app.wait_stream(StreamStage.IDLE)
    app.wait_session(SessionState.ENDED)
    assert app.window.session_button.text() == "Start session"


def test_cancel_while_waiting_for_a_busy_service(make_app) -> None:
    app = make_app(retry_policy=BackoffPolicy(base_s=2.0, cap_s=2.0, max_attempts=3))
    app.wait_connected()
    app.sim.inject_fault(route="/startLiveSession", status=503, count=3)
    app.window.session_button.click()
    app.qtbot.waitUntil(lambda: "Retrying in" in app.window.banner.text(), timeout=10_000)
    banner = app.window.banner
    assert banner.title() == "All avatars are busy"
    assert banner.kind is BannerKind.WARNING
    assert app.window.session_button.text() == "Cancel"
    banner.action("Cancel").click()
    app.wait_session(SessionState.IDLE)
    assert banner.title() == "Cancelled"
    assert app.sim.stats()["live"] == 0
    assert app.window.session_button.text() == "Start session"


def test_busy_once_then_the_retry_succeeds(make_app) -> None:
    app = make_app()
    app.wait_connected()
    app.sim.inject_fault(route="/startLiveSession", status=503, count=1)
    app.go_live()
    assert app.sim.stats()["issued"] == 1


@pytest.mark.parametrize("case", [
    ("/startLiveSession", 503, 4, "All avatars are busy", "Try again"),
    ("/startLiveSession", 504, 4, "The stream timed out", "Try again"),
    ("/startLiveSession", -1, 1, "The service reported an unknown error", "Try again"),
    ("/startLiveSession", 402, 1, "Payment problem", None),
    ("/jwt", 403, 1, "Sign-in refused", "Sign in again"),
])
def test_errors_are_shown_in_plain_words(make_app, case) -> None:
    route, status, count, title, action = case
    app = make_app()
    app.wait_connected()
    if route == "/jwt":
        app.sim.revoke_tokens()  # the next call gets 403, and renewing the token fails too
    app.sim.inject_fault(route=route, status=status, count=count)
    app.window.session_button.click()
    app.wait_session(SessionState.ERROR)
    banner = app.window.banner
    assert banner.kind is BannerKind.ERROR
    assert banner.title() == title
    assert banner.text() and "status" not in banner.text().lower()
    labels = [b.text() for b in banner.action_buttons()]
    if action:
        assert action in labels
    assert app.sim.stats()["live"] == 0
    assert app.window.session_button.text() == "Start session"


def test_a_revoked_token_is_renewed_without_bothering_the_user(make_app) -> None:
    app = make_app()
    app.wait_connected()
    app.sim.revoke_tokens()
    app.go_live()
    assert app.window.banner.kind is not BannerKind.ERROR


def test_unreachable_service_offers_to_try_again(make_app) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = Settings(user_id=USER_ID, project_id="test-project",
                        api_url=f"http://127.0.0.1:{port}")
    app = make_app(settings=settings, demo=False)
    w = app.window
    assert app.controller.connection.state is ConnectionState.FAILED
    assert w.banner.title() == "Cannot reach the service"
    assert w.status_chip.text() == "Offline"
    assert not w.demo_badge.isVisible()
    assert not w.session_button.isEnabled()
    assert not w.message_edit.isEnabled()
    w.banner.action("Try again").click()
    app.qtbot.waitUntil(lambda: app.controller.connection.state is ConnectionState.FAILED
                        and w.banner.title() == "Cannot reach the service", timeout=10_000)

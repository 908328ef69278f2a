"""One banner at a time, the most important first; the status chip agrees with it.

The banner on its own (real widget), then the window against the simulator: a start error that
the chat link's repeating "connection lost" must not replace, with the status chip saying
"Reconnecting…" for as long as the link is down.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from PySide6.QtWidgets import QLabel, QWidget

from ravatar_live.api.backoff import CHAT_RECONNECT, BackoffPolicy
from ravatar_live.api.reconnect import LinkState
from ravatar_live.live.states import SessionState
from ravatar_live.ui.banner import Banner, BannerKind
from ravatar_live.ui.window_banners import BUSY_TITLE, LINK_LOST_TITLE

pytestmark = pytest.mark.gui


@pytest.fixture
def banner(qtbot) -> Iterator[Banner]:
    host = QWidget()
    qtbot.addWidget(host)
    host.resize(700, 400)
    made = Banner(host)
    host.show()
    yield made  # the host (and with it the banner) lives until the test ends


def test_an_error_is_never_replaced_by_a_lesser_message(banner) -> None:
    banner.post("session", BannerKind.ERROR, "Start failed", "Try again.")
    banner.post("link", BannerKind.WARNING, "Chat connection lost", "Reconnecting in 3 s…")
    banner.post("stream", BannerKind.INFO, "Connecting stream…")
    assert banner.title() == "Start failed" and banner.kind is BannerKind.ERROR
    # Dismissing the error shows what waited underneath, the most important first.
    banner.dismiss()
    assert banner.title() == "Chat connection lost"
    banner.withdraw("link")
    assert banner.title() == "Connecting stream…"
    banner.withdraw("stream")
    assert not banner.isVisible()


def test_a_newer_message_of_the_same_topic_replaces_the_older(banner) -> None:
    banner.post("session", BannerKind.ERROR, "Start failed")
    banner.post("session", BannerKind.INFO, "Starting session…")  # "Try again" was pressed
    assert banner.title() == "Starting session…"
    assert banner.topics() == ["session"]


def test_a_countdown_updates_in_place_and_keeps_the_focus(banner, qtbot) -> None:
    cancel = []
    actions = (("Cancel", lambda: cancel.append(1)),)
    banner.post("session", BannerKind.WARNING, BUSY_TITLE, "Retrying in 3 s.", actions=actions,
                dismissable=False)
    button = banner.action("Cancel")
    button.setFocus()
    replaced = []
    banner.shown_message.connect(lambda: replaced.append(1))
    banner.post("session", BannerKind.WARNING, BUSY_TITLE, "Retrying in 2 s.", actions=actions,
                dismissable=False)
    assert banner.text() == "Retrying in 2 s."
    assert banner.action("Cancel") is button, "the same button, still focused"
    assert replaced == []


def test_success_is_news_only_while_it_shows(banner) -> None:
    banner.post("session", BannerKind.SUCCESS, "Live", timeout_ms=10_000)
    banner.post("voice", BannerKind.ERROR, "No microphone")
    banner.withdraw("voice")
    assert not banner.isVisible(), "the covered success is not shown again later"


def test_a_success_withdraws_itself(banner, qtbot) -> None:
    banner.post("link", BannerKind.SUCCESS, "Chat connection restored", timeout_ms=50)
    assert banner.isVisible()
    qtbot.waitUntil(lambda: not banner.isVisible(), timeout=2_000)


def test_a_start_error_outlives_the_link_warning_and_the_chip_says_reconnecting(
        make_app, qtbot) -> None:
    app = make_app(connect=False)
    app.controller.connection.chat_backoff = replace(CHAT_RECONNECT, base_s=1.0, cap_s=1.5)
    app.run(app.controller.startup(start_session=False))
    app.wait_connected()
    w = app.window
    assert w.status_chip.full_text() == "Connected"
    app.sim.inject_fault(route="/startLiveSession", status=-1)
    w.session_button.click()
    app.wait_session(SessionState.ERROR)
    assert w.banner.title() == "The service reported an unknown error"
    # Now the chat link goes down and keeps failing: its warning repeats every second.
    app.sim.inject_fault(route="/ws/chat", status=503, count=None)
    app.run(app.sim.drop_chat_sockets())
    qtbot.waitUntil(lambda: w.status_chip.full_text() == "Reconnecting…", timeout=10_000)
    link = app.controller.connection.link
    assert link is not None and link.state in (LinkState.RECONNECTING, LinkState.CONNECTING)
    assert w.status_chip.property("kind") == "reconnecting"
    qtbot.waitUntil(lambda: (m := w.banner.message("link")) is not None
                    and "Reconnecting" in m.text, timeout=10_000)
    link_message = w.banner.message("link")
    assert link_message is not None
    first_words = link_message.text
    # The warning repeats (a new countdown, a new attempt): let it, and look again.
    qtbot.waitUntil(lambda: (m := w.banner.message("link")) is not None
                    and m.text != first_words, timeout=10_000)
    assert w.banner.title() == "The service reported an unknown error", "not replaced"
    assert w.banner.kind is BannerKind.ERROR
    # Once the user dismisses the error, the link's warning is there.
    w.banner.dismiss()
    assert w.banner.title() == LINK_LOST_TITLE
    assert w.status_chip.full_text() == "Reconnecting…"
    app.sim.clear_faults()
    qtbot.waitUntil(lambda: w.status_chip.full_text() == "Connected", timeout=15_000)
    qtbot.waitUntil(lambda: w.banner.title() == "Chat connection restored", timeout=5_000)


def test_the_busy_banner_says_one_thing(make_app) -> None:
    app = make_app(retry_policy=BackoffPolicy(base_s=5.0, cap_s=5.0, max_attempts=3))
    app.wait_connected()
    app.sim.inject_fault(route="/startLiveSession", status=503, count=1)
    app.window.session_button.click()
    app.qtbot.waitUntil(lambda: "Retrying in" in app.window.banner.text(), timeout=10_000)
    banner = app.window.banner
    assert banner.title() == BUSY_TITLE == "All avatars are busy"
    assert "avatar" in banner.text() and "assistant" not in banner.text().lower()
    banner.action("Cancel").click()
    app.wait_session(SessionState.IDLE)


def test_a_short_message_is_not_wrapped_word_by_word(banner) -> None:
    banner.post("session", BannerKind.SUCCESS, "Live", "The avatar can hear you now.")
    banner.setGeometry(10, 10, 620, banner.heightForWidth(620))
    text = banner.findChild(QLabel, "BannerText")
    assert text is not None
    assert text.width() > 400, "the text has the banner's width"
    assert text.height() <= 2 * text.fontMetrics().lineSpacing(), "one line, not one per word"

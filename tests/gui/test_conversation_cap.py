"""A long conversation keeps widgets for its newest messages only (each bubble is ~95 kB of
native memory): the oldest leave the pane, a line says so, the texts are all kept, and a voice
turn still gets its words and its reply's latency while older messages are being dropped."""

from __future__ import annotations

from datetime import datetime

from PySide6.QtWidgets import QApplication, QLabel, QWidget

from ravatar_live.live.turn_latency import Turn
from ravatar_live.ui.conversation import (
    EARLIER_NOT_SHOWN,
    MAX_SHOWN_MESSAGES,
    ConversationView,
    Role,
)


def shown_view(qtbot) -> ConversationView:
    view = ConversationView()
    qtbot.addWidget(view)
    view.resize(380, 600)
    view.show()
    qtbot.waitExposed(view)
    return view


def body(view: ConversationView) -> QWidget:
    widget = view.widget()
    assert widget is not None
    return widget


def shown_labels(view: ConversationView) -> list[QLabel]:
    return [label for label in body(view).findChildren(QLabel) if label.isVisibleTo(view)]


def test_the_oldest_messages_leave_the_pane_once_it_is_full(qtbot) -> None:
    view = shown_view(qtbot)
    for number in range(MAX_SHOWN_MESSAGES // 2 + 10):
        view.add_user_turn(f"question {number}")
        view.add_avatar_turn(f"answer {number}")
    QApplication.processEvents()
    total = 2 * (MAX_SHOWN_MESSAGES // 2 + 10)
    assert len(view.texts()) == total, "every text is kept"
    bubbles = view.bubbles()
    assert len(bubbles) == MAX_SHOWN_MESSAGES
    assert bubbles[0].entry.text == "question 10"
    assert bubbles[-1].entry.text == f"answer {total // 2 - 1}"
    texts = [label.text() for label in shown_labels(view)]
    assert EARLIER_NOT_SHOWN in texts
    assert "question 10" in texts and "question 9" not in texts
    # The dropped widgets are really gone (deleted), not just hidden.
    qtbot.waitUntil(lambda: len(body(view).findChildren(type(bubbles[0]))) ==
                    MAX_SHOWN_MESSAGES)


def test_a_voice_turn_gets_its_words_and_latency_while_old_messages_go(qtbot) -> None:
    view = shown_view(qtbot)
    for number in range(MAX_SHOWN_MESSAGES - 1):
        view.add_notice(f"notice {number}")
    view.add_pending_voice_turn()  # the pane is full now; the next messages push old ones out
    view.add_user_turn("what is the weather", "voice")
    view.add_avatar_turn("sunny")
    turn = Turn(number=1, via="voice", started_at=datetime.now(), ended_at=0.0, reply_s=0.5)
    view.show_turn_latency(turn)
    QApplication.processEvents()  # widgets added to a shown pane are shown by a queued call
    assert view.texts(Role.USER) == ["what is the weather"]
    assert view.bubbles()[-2].entry.text == "what is the weather"
    assert view.latency_figures() == ["reply 0.50 s"]
    texts = [label.text() for label in shown_labels(view)]
    assert EARLIER_NOT_SHOWN in texts
    assert not any(text.startswith("notice 0 ") for text in texts)
    assert any(text.startswith("notice 1 ") for text in texts)

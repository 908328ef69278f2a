"""The real window, live on the embedded simulator, from 800 x 600 to 3840 x 2160.

At each size: no two visible controls overlap, no control is cut off by its container, every
label shows its whole text or is deliberately elided (with the whole text in its tooltip),
every bubble shows every line, the newest message is in view, the banner fits over the stream,
and the stream keeps its aspect ratio. A screenshot of each size goes to artifacts/.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, QObject, QPoint, QRect
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractScrollArea,
    QAbstractSlider,
    QComboBox,
    QLabel,
    QLineEdit,
    QWidget,
)

from ravatar_live.ui.banner import BannerKind
from ravatar_live.ui.eliding_label import ElidingLabel
from ravatar_live.ui.main_window import MainWindow
from ravatar_live.ui.stream_area import StreamArea

pytestmark = pytest.mark.gui

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
SIZES = [(800, 600), (960, 640), (1100, 700), (1280, 800), (1920, 1080), (3840, 2160)]
INTERACTIVE = (QAbstractButton, QComboBox, QLineEdit, QAbstractSlider, QAbstractScrollArea)
LONG_REPLY = ("It is sunny and warm with a light breeze from the west, a perfect afternoon for a "
              "walk in the park. Later the clouds come in from the sea and it may rain a little "
              "after eight, so take a jacket if you go out tonight.")
LINK = "https://example.org/" + "a-very-long-path-without-any-spaces-" * 4 + "end"


def window_rect(widget: QWidget, window: QWidget) -> QRect:
    return QRect(widget.mapTo(window, QPoint(0, 0)), widget.size())


def shown(widget: QWidget, window: QWidget) -> bool:
    return widget.isVisibleTo(window) and widget.isVisible() and widget.width() > 0


def controls(window: MainWindow) -> list[QWidget]:
    found = [w for w in window.findChildren(QWidget)
             if isinstance(w, INTERACTIVE) and shown(w, window)
             and not isinstance(w.parentWidget(), QComboBox)  # a combo's own internals
             and w.window() is window]
    return [w for w in found if not any(a is not w and a.isAncestorOf(w) for a in found
                                        if isinstance(a, QComboBox))]


def overlapping(window: MainWindow) -> list[str]:
    """Pairs of visible controls that overlap (the banner floats over the stream by design;
    a control inside another, like the jump button in the conversation, is not a pair)."""
    problems = []
    parts = [w for w in controls(window) if not isinstance(w, StreamArea)]
    for a, b in itertools.combinations(parts, 2):
        if a.isAncestorOf(b) or b.isAncestorOf(a):
            continue
        if window_rect(a, window).intersects(window_rect(b, window)):
            problems.append(f"{describe(a)} overlaps {describe(b)}")
    return problems


def describe(widget: QWidget) -> str:
    text = widget.text() if isinstance(widget, QAbstractButton | QLabel) else ""
    return f"{type(widget).__name__}({widget.accessibleName() or widget.objectName()!r} {text!r})"


def cut_off(window: MainWindow) -> list[str]:
    """Controls and labels (outside the scrolling conversation) that their containers clip."""
    problems = []
    conversation = window.conversation
    for widget in window.findChildren(QWidget):
        if not shown(widget, window) or conversation.isAncestorOf(widget):
            continue
        if not isinstance(widget, (*INTERACTIVE, QLabel)) or isinstance(widget, StreamArea):
            continue
        if window.banner.isAncestorOf(widget) or widget is window.banner:
            continue  # floats over the stream: checked by banner_fits
        visible = widget.visibleRegion().boundingRect()
        if visible.size() != widget.size():
            problems.append(f"{describe(widget)} shows {visible.size().toTuple()} of "
                            f"{widget.size().toTuple()}")
    return problems


def text_problems(window: MainWindow) -> list[str]:
    """Labels and buttons whose text does not fit and is not deliberately elided."""
    problems = []
    for label in window.findChildren(QLabel):
        if not shown(label, window) or not label.text():
            continue
        if isinstance(label, ElidingLabel):
            if label.is_elided() and label.toolTip() != label.full_text():
                problems.append(f"{describe(label)} is cut without its text in the tooltip")
            elif not label.is_elided() and label.width() < label.sizeHint().width() - 1:
                problems.append(f"{describe(label)} is narrower than its text")
        elif label.wordWrap():
            if label.height() < label.heightForWidth(label.width()):
                problems.append(f"{describe(label)} is {label.height()} px high, needs "
                                f"{label.heightForWidth(label.width())}")
        elif label.pixmap().isNull() and label.width() < label.sizeHint().width():
            problems.append(f"{describe(label)} is narrower than its text")
    for button in window.findChildren(QAbstractButton):
        if shown(button, window) and button.text() and \
                button.width() < button.sizeHint().width():
            problems.append(f"{describe(button)} is {button.width()} px, its text needs "
                            f"{button.sizeHint().width()}")
    return problems


def bubble_problems(window: MainWindow) -> list[str]:
    problems = []
    viewport = window.conversation.viewport()
    for bubble in window.conversation.bubbles():
        label = bubble.text_label
        if label.height() < label.heightForWidth(label.width()):
            problems.append(f"bubble {bubble.entry.text[:20]!r} clips its last line")
        if window_rect(bubble, viewport).right() > viewport.width():
            problems.append(f"bubble {bubble.entry.text[:20]!r} runs out of the pane")
    return problems


def newest_in_view(window: MainWindow) -> bool:
    viewport = window.conversation.viewport()
    last = window.conversation.bubbles()[-1]
    rect = QRect(last.mapTo(viewport, QPoint(0, 0)), last.size())
    return viewport.rect().contains(rect)


def banner_fits(window: MainWindow) -> list[str]:
    banner, area = window.banner, window.stream_area
    problems = []
    if not QRect(QPoint(0, 0), area.size()).contains(banner.geometry()):
        problems.append(f"banner {banner.geometry().getRect()} outside the stream "
                        f"{area.size().toTuple()}")
    if banner.height() < banner.heightForWidth(banner.width()):
        problems.append("banner is cut off at the bottom")
    for button in banner.action_buttons():
        if button.geometry().bottom() >= banner.height():
            problems.append(f"banner button {button.text()!r} is cut off")
    return problems


def stream_box(app) -> dict:
    """The stream frame's box in the host page, and the page's size (CSS pixels)."""
    result: list[str] = []
    app.window.stream_view.page().runJavaScript(
        "JSON.stringify({frame: document.querySelector('#stage iframe')"
        "?.getBoundingClientRect(), w: innerWidth, h: innerHeight})", 0, result.append)
    app.qtbot.waitUntil(lambda: bool(result), timeout=10_000)
    return json.loads(result[0])


@pytest.fixture
def live_window(make_app):
    app = make_app()
    app.go_live()
    conversation = app.window.conversation
    conversation.add_user_turn("Hello there! What is the weather like today?", "typed")
    conversation.add_avatar_turn(LONG_REPLY)
    conversation.add_pending_voice_turn()
    conversation.add_user_turn("And tomorrow?", "voice")
    conversation.add_notice("The chat connection is back.")
    conversation.add_avatar_turn(f"Here is the forecast: {LINK}")
    conversation.add_avatar_turn("Yes.")
    app.window.banner.post("test", BannerKind.ERROR, "The stream could not be shown here",
                           "The stream page refused to be shown inside the app. Show it "
                           "directly or open it in your browser.",
                           actions=(("Show it directly", lambda: None),
                                    ("Open in browser", lambda: None)))
    return app


@pytest.mark.parametrize(("width", "height"), SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_every_size_from_800_to_4k(live_window, width, height) -> None:
    app = live_window
    window = app.window
    window.resize(width, height)
    app.qtbot.waitUntil(lambda: window.size().toTuple() == (width, height), timeout=5_000)
    box = stream_box(app)  # a round trip through the page: it has seen the new size
    app.qtbot.wait(300)  # the web view paints its new size on its own schedule (for the shot)
    ARTIFACTS.mkdir(exist_ok=True)
    window.grab().save(str(ARTIFACTS / f"layout-{width}x{height}.png"))

    assert overlapping(window) == []
    assert cut_off(window) == []
    assert text_problems(window) == []
    assert bubble_problems(window) == []
    assert banner_fits(window) == []
    assert newest_in_view(window), "the newest message is out of view"
    assert window.stream_area.height() >= 150 and window.stream_area.width() >= 240

    frame = box["frame"]
    assert frame is not None, "the stream is not framed"
    assert frame["width"] / frame["height"] == pytest.approx(1280 / 720, rel=0.02)
    assert frame["width"] <= box["w"] + 1 and frame["height"] <= box["h"] + 1
    # Letter-boxed: it fills the view in one direction.
    assert frame["width"] >= box["w"] - 2 or frame["height"] >= box["h"] - 2


def test_bars_reflow_when_narrow_and_use_one_row_when_wide(live_window) -> None:
    window = live_window.window
    window.resize(800, 600)
    live_window.qtbot.waitUntil(lambda: window.talk_bar.reflow.stacked, timeout=5_000)
    assert window.top_bar.reflow.stacked
    window.resize(1920, 1080)
    live_window.qtbot.waitUntil(lambda: not window.talk_bar.reflow.stacked, timeout=5_000)
    assert not window.top_bar.reflow.stacked
    # The record button keeps one width whatever it says.
    record = window.talk_bar.record_button
    before = record.width()
    record.click()
    assert record.text() == "Stop && send" and record.width() == before
    record.click()


def test_the_newest_message_stays_in_view_unless_the_user_scrolled_up(live_window) -> None:
    app = live_window
    window = app.window
    window.resize(800, 600)
    conversation = window.conversation
    for n in range(12):
        conversation.add_avatar_turn(f"Reply number {n}. {LONG_REPLY}")
    app.qtbot.waitUntil(lambda: newest_in_view(window), timeout=5_000)
    assert conversation.following and not conversation.jump_button.isVisible()
    bar = conversation.verticalScrollBar()
    bar.setValue(bar.minimum())  # the user scrolls up to read
    assert not conversation.following
    conversation.add_avatar_turn("A new reply while reading.")
    app.qtbot.wait(50)
    assert bar.value() == bar.minimum(), "reading position kept"
    assert conversation.jump_button.isVisible()
    conversation.jump_button.click()
    app.qtbot.waitUntil(lambda: newest_in_view(window), timeout=5_000)
    assert conversation.following and not conversation.jump_button.isVisible()


def test_the_checks_catch_what_they_look_for(live_window) -> None:
    """Each check above fails on the breakage it is there to catch."""
    window = live_window.window
    window.resize(1280, 800)
    live_window.qtbot.wait(50)
    bar = window.talk_bar
    bar.record_button.move(bar.talk_button.pos())
    assert any("overlaps" in p for p in overlapping(window))
    bar.hands_free_button.setFixedWidth(30)
    assert any("Hands-free" in p for p in text_problems(window))
    window.send_button.move(window.send_button.x() + 60, window.send_button.y())
    assert any("Send" in p for p in cut_off(window))
    window.conversation.bubbles()[1].text_label.setFixedHeight(12)
    assert any("clips its last line" in p for p in bubble_problems(window))
    window.banner.setGeometry(10, 10, 5000, 20)
    assert banner_fits(window)


class LayoutRequests(QObject):
    """Counts the relayouts a widget asks for (each one repaints the window's RHI surface)."""

    def __init__(self, widget: QWidget) -> None:
        super().__init__(widget)
        self.count = 0
        for child in [widget, *widget.findChildren(QWidget)]:
            child.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.LayoutRequest:
            self.count += 1
        return False


def test_typing_does_not_relayout_the_bars(live_window) -> None:
    """Every keystroke refreshes the controls' state; unchanged texts must not relayout the
    top bar or the talk bar (with a web view on screen each relayout repaints the window)."""
    app = live_window
    window = app.window
    app.qtbot.wait(100)
    top, talk = LayoutRequests(window.top_bar), LayoutRequests(window.talk_bar)
    window.message_edit.setFocus()
    app.qtbot.keyClicks(window.message_edit, "a few words typed one key at a time")
    app.qtbot.wait(50)
    assert (top.count, talk.count) == (0, 0)

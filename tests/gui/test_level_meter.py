"""The microphone level meter repaints only when what it shows changes: silence from an open
microphone (levels arrive ~20 times a second) costs no repaint, and the decay stops once the
bar has fallen."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QApplication

from ravatar_live.ui.level_meter import LevelMeter


class PaintCounter(QObject):
    def __init__(self, widget: LevelMeter) -> None:
        super().__init__(widget)
        self.paints = 0
        widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            self.paints += 1
        return False


def shown_meter(qtbot) -> tuple[LevelMeter, PaintCounter]:
    meter = LevelMeter()
    qtbot.addWidget(meter)
    meter.resize(200, 10)
    counter = PaintCounter(meter)
    meter.show()
    qtbot.waitUntil(lambda: counter.paints >= 1)  # Qt's own first paint, once shown
    QApplication.processEvents()
    counter.paints = 0
    return meter, counter


def test_silence_costs_no_repaint(qtbot) -> None:
    meter, counter = shown_meter(qtbot)
    for _ in range(40):  # two seconds of levels from a silent, open microphone
        meter.set_level(0.0, 0.0)
        QApplication.processEvents()
    assert counter.paints == 0
    assert meter.rms_fraction == 0.0


def test_a_level_repaints_then_falls_back_and_stops(qtbot) -> None:
    meter, counter = shown_meter(qtbot)
    meter.set_level(0.3, 0.5)
    qtbot.waitUntil(lambda: counter.paints >= 1)
    # The bar decays on its own once levels stop, down to nothing.
    qtbot.waitUntil(lambda: meter.rms_fraction == 0.0, timeout=5000)
    QApplication.processEvents()
    settled = counter.paints
    for _ in range(20):
        meter.set_level(0.0, 0.0)
        QApplication.processEvents()
    assert counter.paints == settled


def test_the_same_level_again_costs_no_repaint(qtbot) -> None:
    meter, counter = shown_meter(qtbot)
    meter.set_level(0.2, 0.2)
    qtbot.waitUntil(lambda: counter.paints >= 1)
    painted = counter.paints
    meter.reset()
    qtbot.waitUntil(lambda: counter.paints > painted)  # the bar goes away: that repaints
    cleared = counter.paints
    meter.reset()
    QApplication.processEvents()
    assert counter.paints == cleared

"""A slim microphone level meter: RMS bar with a peak tick, smoothed so it does not flicker.

Levels arrive about 20 times a second whenever the microphone is open, also in silence. The
meter repaints only when what it draws changes by a pixel (a repaint is never free: without a
graphics processor every flushed pixel is copied on the CPU), and its decay timer runs only
while there is a bar to let fall."""

from __future__ import annotations

import math

from PySide6.QtCore import QRectF, QSize, Qt, QTimer, Slot
from PySide6.QtGui import QColor, QLinearGradient, QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from ravatar_live.ui.theme import colors

_FLOOR_DB = -60.0
_QUIET = 0.005  # below this (of the bar's length) the meter shows nothing


def level_to_fraction(level: float) -> float:
    """0..1 amplitude -> 0..1 bar length on a dB scale (-60 dB .. 0 dB)."""
    if level <= 0.0:
        return 0.0
    db = 20.0 * math.log10(min(level, 1.0))
    return max(0.0, min(1.0, (db - _FLOOR_DB) / -_FLOOR_DB))


class LevelMeter(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rms = 0.0
        self._peak = 0.0
        self._shown_rms = 0.0
        self._shown_peak = 0.0
        self._painted = (0, -1)  # (bar, tick) in pixels as last painted (Qt paints on show)
        self.setAccessibleName("Microphone level")
        self.setAccessibleDescription("How loud the microphone hears you")
        self.setToolTip("Microphone level")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMinimumWidth(60)
        # Decay between updates so the bar falls smoothly when the level stops arriving.
        self._decay = QTimer(self)
        self._decay.setInterval(50)
        self._decay.timeout.connect(self._on_decay)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(140, 10)

    @property
    def rms_fraction(self) -> float:
        return self._shown_rms

    @Slot(float, float)
    def set_level(self, rms: float, peak: float) -> None:
        self._rms = level_to_fraction(rms)
        self._peak = level_to_fraction(peak)
        self._shown_rms = max(self._rms, self._shown_rms * 0.6)
        self._shown_peak = max(self._peak, self._shown_peak)
        if self._shown_peak >= _QUIET and not self._decay.isActive():
            self._decay.start()
        self._repaint_if_changed()

    @Slot()
    def reset(self) -> None:
        self._rms = self._peak = self._shown_rms = self._shown_peak = 0.0
        self._decay.stop()
        self._repaint_if_changed()

    @Slot()
    def _on_decay(self) -> None:
        self._shown_rms *= 0.85
        self._shown_peak = max(self._shown_rms, self._shown_peak - 0.02)
        if self._shown_peak < _QUIET:
            self.reset()
            return
        self._repaint_if_changed()

    def _drawn(self) -> tuple[int, int]:
        """What paintEvent draws now, in whole pixels: the bar's length and the tick's place
        (-1: no bar, no tick)."""
        if self._shown_rms <= 0 or not self.isEnabled():
            return (0, -1)
        width = self.width()
        return (round(width * self._shown_rms), round(width * self._shown_peak))

    def _repaint_if_changed(self) -> None:
        if self._drawn() != self._painted:
            self.update()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        self._painted = self._drawn()
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5)
        radius = rect.height() / 2
        painter.setPen(Qt.PenStyle.NoPen)
        scheme = colors()
        painter.setBrush(QColor(scheme.meter_track if self.isEnabled() else scheme.disabled_bg))
        painter.drawRoundedRect(rect, radius, radius)
        if self._shown_rms > 0 and self.isEnabled():
            gradient = QLinearGradient(rect.topLeft(), rect.topRight())
            gradient.setColorAt(0.0, QColor("#3ecf8e"))
            gradient.setColorAt(0.7, QColor("#f5c56b"))
            gradient.setColorAt(1.0, QColor("#ff6b6b"))
            painter.setBrush(gradient)
            bar = QRectF(rect.left(), rect.top(), rect.width() * self._shown_rms, rect.height())
            painter.drawRoundedRect(bar, radius, radius)
            x = rect.left() + rect.width() * self._shown_peak
            painter.setBrush(QColor(scheme.meter_peak))
            painter.drawRect(QRectF(x - 1, rect.top(), 2, rect.height()))
        painter.end()

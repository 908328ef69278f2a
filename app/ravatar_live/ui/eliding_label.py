"""A label that shortens its text with "…" when space runs out, and shows all of it in a tooltip.

Its size hints come from the full text (so layouts offer it room to show everything) and from a
few characters (so a narrow window can still shrink it); what is drawn is elided to the width it
gets. Screen readers always get the full text.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QResizeEvent, QShowEvent
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

ELLIPSIS = "\u2026"


class ElidingLabel(QLabel):
    def __init__(self, text: str = "", parent: QWidget | None = None, *, name: str = "",
                 min_chars: int = 4, tooltip: str = "") -> None:
        super().__init__(parent)
        # The style sheet is matched when the label is first measured: name it before that.
        self.setObjectName(name)
        self._full = ""
        self._min_chars = min_chars
        self._tooltip = tooltip  # shown when nothing is cut; the full text when something is
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setText(text)

    def full_text(self) -> str:
        return self._full

    def is_elided(self) -> bool:
        return super().text() != self._full

    def setText(self, text: str) -> None:  # noqa: N802 - Qt override
        if text == self._full and self.accessibleName() == text:
            return  # unchanged: no relayout (the status is set again on every keystroke)
        self._full = text
        self.setAccessibleName(text)
        self._elide()
        self.updateGeometry()

    def set_tooltip_text(self, text: str) -> None:
        """What the tooltip says while the whole text fits."""
        self._tooltip = text
        self._elide()

    def _overhead(self) -> int:
        """Padding, margins and frame around the text (from the style, whatever it is)."""
        shown = super().text()
        return super().sizeHint().width() - self.fontMetrics().horizontalAdvance(shown)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        hint = super().sizeHint()
        return QSize(self.fontMetrics().horizontalAdvance(self._full) + self._overhead() + 1,
                     hint.height())

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt override
        shortest = self._full if len(self._full) <= self._min_chars else (
            self._full[:self._min_chars] + ELLIPSIS)
        width = self.fontMetrics().horizontalAdvance(shortest) + self._overhead() + 1
        return QSize(min(width, self.sizeHint().width()), super().minimumSizeHint().height())

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._elide()

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        self._elide()

    def _elide(self) -> None:
        if not self.isVisible():  # measured once shown (and styled)
            if super().text() != self._full:
                super().setText(self._full)
            self.setToolTip(self._tooltip)
            return
        room = self.width() - self._overhead()
        metrics = self.fontMetrics()
        shown = self._full if metrics.horizontalAdvance(self._full) <= room else \
            metrics.elidedText(self._full, Qt.TextElideMode.ElideRight, max(room, 0))
        if shown != super().text():
            super().setText(shown)
        self.setToolTip(self._full if shown != self._full else self._tooltip)

"""Say what changed to a screen reader: a new session state, a banner, a reply.

Each announcement is a QAccessibleAnnouncementEvent (Qt 6.8+) sent through
QAccessible.updateAccessibility; urgent ones (errors, warnings) are assertive, the rest polite.
Labels whose text changes (the status chip, the voice state) also raise Qt's own name-change
events by themselves. `announced` repeats each announcement for the app's own use and tests.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtGui import QAccessible, QAccessibleAnnouncementEvent
from PySide6.QtWidgets import QWidget


class Announcer(QObject):
    announced = Signal(str, bool)  # text, urgent

    def __init__(self, source: QWidget, parent: QObject | None = None) -> None:
        """`source` is the widget the announcements come from (the main window)."""
        super().__init__(parent)
        self._source = source
        self._last = ""

    @Slot(str, bool)
    def announce(self, text: str, urgent: bool = False) -> None:
        text = " ".join(text.split())
        if not text or text == self._last:
            return  # the same words twice in a row add nothing
        self._last = text
        event = QAccessibleAnnouncementEvent(self._source, text)
        event.setPoliteness(QAccessible.AnnouncementPoliteness.Assertive if urgent
                            else QAccessible.AnnouncementPoliteness.Polite)
        QAccessible.updateAccessibility(event)
        self.announced.emit(text, urgent)

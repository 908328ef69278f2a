"""A layout that puts its groups side by side while they fit, and one under the other when not.

Each group is a widget with its own inner layout; only the groups move. In a row the groups get
their preferred widths, shrinking towards their minimum widths (which is where eliding labels
give way) before the layout stacks them; extra room goes to the groups with a stretch. The
choice depends on the width alone (it is a height-for-width layout), so a resize cannot make it
flip back and forth.
"""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtWidgets import QLayout, QLayoutItem, QWidget, QWidgetItem


class ReflowLayout(QLayout):
    def __init__(self, parent: QWidget | None = None, *, spacing: int = 12) -> None:
        super().__init__(parent)
        self._items: list[QLayoutItem] = []
        self._stretch: list[int] = []
        self._gap = spacing
        self._stacked = False

    # --- building ----------------------------------------------------------------------------
    def add_group(self, group: QWidget, stretch: int = 0) -> None:
        self.addChildWidget(group)
        self._items.append(QWidgetItem(group))
        self._stretch.append(stretch)
        self.invalidate()

    def addItem(self, item: QLayoutItem) -> None:  # noqa: N802 - Qt override
        self._items.append(item)
        self._stretch.append(0)

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int) -> QLayoutItem | None:  # noqa: N802 - Qt override
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int) -> QLayoutItem | None:  # noqa: N802 - Qt override
        if not 0 <= index < len(self._items):
            return None
        del self._stretch[index]
        return self._items.pop(index)

    @property
    def stacked(self) -> bool:
        """Whether the groups were last laid out one under the other."""
        return self._stacked

    # --- measuring ---------------------------------------------------------------------------
    def _shown(self) -> list[tuple[QLayoutItem, int]]:
        return [(item, stretch) for item, stretch in zip(self._items, self._stretch, strict=True)
                if not item.isEmpty()]

    def _inner(self, width: int) -> int:
        margins = self.contentsMargins()
        return width - margins.left() - margins.right()

    def _row_minimum(self) -> int:
        shown = self._shown()
        return (sum(item.minimumSize().width() for item, _ in shown)
                + self._gap * max(0, len(shown) - 1))

    def fits_in_a_row(self, width: int) -> bool:
        return self._inner(width) >= self._row_minimum()

    def _height(self, inner_width: int, row: bool) -> int:
        shown = self._shown()
        if not shown:
            return 0
        if row:
            return max(item.sizeHint().height() for item, _ in shown)
        return (sum(self._item_height(item, inner_width) for item, _ in shown)
                + self._gap * (len(shown) - 1))

    @staticmethod
    def _item_height(item: QLayoutItem, width: int) -> int:
        if item.hasHeightForWidth():
            return item.heightForWidth(width)
        return item.sizeHint().height()

    def hasHeightForWidth(self) -> bool:  # noqa: N802 - Qt override
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802 - Qt override
        margins = self.contentsMargins()
        return (self._height(self._inner(width), self.fits_in_a_row(width))
                + margins.top() + margins.bottom())

    def expandingDirections(self) -> Qt.Orientation:  # noqa: N802 - Qt override
        return Qt.Orientation.Horizontal

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        shown = self._shown()
        margins = self.contentsMargins()
        width = (sum(item.sizeHint().width() for item, _ in shown)
                 + self._gap * max(0, len(shown) - 1) + margins.left() + margins.right())
        return QSize(width, self.heightForWidth(width))

    def minimumSize(self) -> QSize:  # noqa: N802 - Qt override
        margins = self.contentsMargins()
        narrowest = max((item.minimumSize().width() for item, _ in self._shown()), default=0)
        width = narrowest + margins.left() + margins.right()
        return QSize(width, self.heightForWidth(width))

    # --- placing -----------------------------------------------------------------------------
    def setGeometry(self, rect: QRect) -> None:  # noqa: N802 - Qt override
        super().setGeometry(rect)
        area = self.contentsRect()
        shown = self._shown()
        self._stacked = not self.fits_in_a_row(rect.width())
        if self._stacked:
            y = area.top()
            for item, _ in shown:
                height = self._item_height(item, area.width())
                item.setGeometry(QRect(area.left(), y, area.width(), height))
                y += height + self._gap
            return
        x = area.left()
        for (item, _), width in zip(shown, self._row_widths(shown, area.width()), strict=True):
            item.setGeometry(QRect(x, area.top(), width, area.height()))
            x += width + self._gap

    def _row_widths(self, shown: list[tuple[QLayoutItem, int]], room: int) -> list[int]:
        """Preferred widths, shrunk towards the minimums (in proportion to how far each can
        give) or grown by stretch to fill `room`."""
        room -= self._gap * max(0, len(shown) - 1)
        hints = [item.sizeHint().width() for item, _ in shown]
        minimums = [min(item.minimumSize().width(), hint) for (item, _), hint in
                    zip(shown, hints, strict=True)]
        extra = room - sum(hints)
        if extra >= 0:
            stretch = [s for _, s in shown]
            total = sum(stretch)
            if total == 0:
                return hints
            return [h + extra * s // total for h, s in zip(hints, stretch, strict=True)]
        give = [h - m for h, m in zip(hints, minimums, strict=True)]
        can_give = sum(give) or 1
        # Round each cut up, so the row never ends up wider than the room.
        return [max(m, h - -(extra * g // can_give)) for h, m, g in
                zip(hints, minimums, give, strict=True)]

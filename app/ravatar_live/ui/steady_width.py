"""Buttons whose label changes keep one width, so the bar around them never jumps."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtWidgets import QAbstractButton

from ravatar_live.ui.theme import set_variant


def fit_to_longest(button: QAbstractButton, labels: Sequence[tuple[str, str]]) -> int:
    """Fix `button`'s width to that of its widest (text, style variant) and return it; the
    button keeps its current text and variant."""
    button.ensurePolished()
    text, variant = button.text(), str(button.property("variant") or "")
    widest = 0
    for label, label_variant in labels:
        set_variant(button, "variant", label_variant)
        button.setText(label)
        widest = max(widest, button.sizeHint().width())
    set_variant(button, "variant", variant)
    button.setText(text)
    button.setFixedWidth(widest)
    return widest

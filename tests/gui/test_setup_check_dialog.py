"""Test your setup in the window: offered on the banner (the first start posts it), opened from
the offer's button, usable from the keyboard (Tab reaches every line; each line's accessible name
says its verdict), and it never blocks the window: the loop keeps running while it checks.
No sound devices here (the e2e layer tests them with PulseAudio): the microphone is a stand-in
with none, and there is no output backend, so those lines say so."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from ravatar_live.live.setup_check import Verdict
from ravatar_live.ui.setup_check_binding import OFFER_TITLE
from tests.gui.conftest import WAIT_MS, _NoMicrophone

pytestmark = pytest.mark.gui


def test_offer_opens_the_checklist_and_every_line_ends_with_a_verdict(make_app, qtbot) -> None:
    app = make_app()
    binding = app.window.setup_check
    binding.capture_factory = _NoMicrophone
    binding.output_backends = ()
    binding.offer()
    assert app.window.banner.title() == OFFER_TITLE
    app.window.banner.action("Test your setup").click()
    dialog = binding.dialog
    assert dialog is not None and dialog.isVisible()
    assert app.window.banner.message("setup") is None  # the offer is taken
    assert dialog.close_button.text() == "Cancel" and not dialog.run_button.isEnabled()
    ticks: list[None] = []
    app.loop.call_soon(ticks.append, None)  # the window's loop runs while the check does
    with qtbot.waitSignal(dialog.check.finished, timeout=WAIT_MS):
        pass
    assert ticks
    lines = dialog.check.lines
    assert lines["microphone"].verdict is Verdict.AMBER
    assert lines["speaker"].verdict is Verdict.RED
    assert "No audio output device" in lines["speaker"].summary and lines["speaker"].advice
    assert lines["service"].verdict is Verdict.GREEN
    # Keyboard: from Run again, Tab visits every line of the checklist.
    names = []
    dialog.run_button.setFocus()
    for _ in range(8):
        qtbot.keyClick(dialog.focusWidget(), Qt.Key.Key_Tab)
        names.append(dialog.focusWidget().accessibleName())
    assert {"Microphone: Check", "Speaker test tone: Problem", "RAVATAR service: OK"} <= set(
        names), names
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    assert binding.dialog is None

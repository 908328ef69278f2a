"""Test your setup, against the real simulator and the PulseAudio virtual microphone and
speaker (tests/e2e/conftest.py): every line green when speech reaches the microphone; the
service line red, with its sentence, once the simulator is stopped; the microphone amber when
there is none; Esc cancels a running test and releases the microphone. Screenshots of the
dialog at an 800 x 600 screen's size and at full HD are kept in artifacts/.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt

from ravatar_live.audio.capture_default import default_capture
from ravatar_live.live.setup_check import CheckLine, Verdict
from ravatar_live.ui.setup_check_dialog import SetupCheckDialog
from tests.e2e.test_app_e2e import ARTIFACTS
from tests.gui.conftest import _NoMicrophone, aloop, make_app, qloop, speech_wav  # noqa: F401

pytestmark = [pytest.mark.e2e, pytest.mark.gui]

CHECK_MS = 60_000


def run_check(app: Any, qtbot: Any, capture: Any, speech: Path | None = None
              ) -> tuple[SetupCheckDialog, dict[str, CheckLine]]:
    """Open Test your setup from the window, speak `speech` into the virtual microphone while
    it records, and wait for the end."""
    binding = app.window.setup_check
    binding.capture_factory = lambda: capture
    players: list[subprocess.Popen[bytes]] = []

    def on_recording(on: bool) -> None:
        if on and speech is not None:
            players.append(subprocess.Popen(["paplay", "-d", "vsink", str(speech)]))

    with qtbot.waitSignal(app.window.announcer.announced, timeout=CHECK_MS,
                          check_params_cb=lambda text, _urgent: text.startswith("Recording")):
        dialog = binding.open()
        dialog.check.recording_changed.connect(on_recording)
    with qtbot.waitSignal(dialog.check.finished, timeout=CHECK_MS) as done:
        pass
    assert done.args == [True]
    for player in players:
        player.wait(timeout=30)
    return dialog, dict(dialog.check.lines)


def shoot(dialog: SetupCheckDialog, name: str, width: int, height: int) -> None:
    dialog.resize(width, height)
    ARTIFACTS.mkdir(exist_ok=True)
    assert dialog.grab().save(str(ARTIFACTS / name))


@pytest.mark.timeout(150)
def test_every_line_green_on_the_simulator_with_a_virtual_microphone(
        make_app, virtual_mic, speech_wav, qtbot) -> None:  # noqa: F811
    app = make_app()
    dialog, lines = run_check(app, qtbot, default_capture(), speech=speech_wav)
    assert {key: line.verdict for key, line in lines.items()} == dict.fromkeys(
        lines, Verdict.GREEN), {k: (v.summary, v.advice) for k, v in lines.items()}
    assert "Heard you" in lines["microphone"].summary
    assert all(stage in lines["service"].summary for stage in ("JWT", "connection",
                                                               "chat socket"))
    assert "H.264" in lines["video"].summary
    row = dialog.rows["microphone"]
    assert row.accessibleName() == "Microphone: OK"
    assert "Heard you" in row.accessibleDescription()
    assert dialog.close_button.text() == "Close" and dialog.run_button.isEnabled()
    # At the size it opens with on an 800 x 600 screen, and with room at full HD.
    shoot(dialog, "setup-check-800x600.png", 760, 540)
    shoot(dialog, "setup-check-fullhd.png", 680, 640)
    dialog.close()


@pytest.mark.timeout(150)
def test_service_line_red_with_its_sentence_when_the_simulator_is_stopped(
        make_app, virtual_mic, qtbot) -> None:  # noqa: F811
    app = make_app()
    app.run(app.sim.close())
    dialog, lines = run_check(app, qtbot, _NoMicrophone())
    service = lines["service"]
    assert service.verdict is Verdict.RED
    assert "JWT failed" in service.summary and service.advice, service
    assert "restart the app" in service.advice
    assert dialog.rows["service"].accessibleName() == "RAVATAR service: Problem"
    shoot(dialog, "setup-check-problems.png", 680, 640)
    dialog.close()


@pytest.mark.timeout(150)
def test_no_microphone_is_amber_with_what_to_do(make_app, virtual_mic, qtbot) -> None:  # noqa: F811
    app = make_app()
    _dialog, lines = run_check(app, qtbot, _NoMicrophone())
    assert lines["microphone"].verdict is Verdict.AMBER
    assert lines["microphone"].summary == "No microphone was found."
    assert "Connect a microphone" in lines["microphone"].advice
    assert lines["playback"].verdict is Verdict.AMBER
    assert lines["speaker"].verdict is Verdict.GREEN
    assert lines["service"].verdict is Verdict.GREEN


def test_escape_cancels_a_running_test_and_frees_the_microphone(
        make_app, virtual_mic, qtbot) -> None:  # noqa: F811
    app = make_app()
    capture = default_capture()
    binding = app.window.setup_check
    binding.capture_factory = lambda: capture
    dialog = binding.open()
    check = dialog.check
    qtbot.waitUntil(lambda: capture.running, timeout=CHECK_MS)
    lines: list[CheckLine] = []
    check.line_changed.connect(lines.append)
    with qtbot.waitSignal(check.finished, timeout=CHECK_MS) as done:
        qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    assert done.args == [False]
    assert binding.dialog is None  # closed
    qtbot.waitUntil(lambda: not capture.running, timeout=CHECK_MS)
    assert [line.summary for line in lines if line.key == "speaker"] == [
        "Not tested: the test was cancelled."]

""""Test your setup": the checklist dialog. It shows the `SetupCheck`'s lines as they change
(a status chip with a mark and a word, never colour alone; the figures; for amber and red, what
to do), prompts "say a few words" with a level meter while the microphone records, and runs,
re-runs and cancels the check. Esc or Close cancels a running check. Every line is a focusable
row whose accessible name says its verdict and whose description carries the sentence; the
verdicts are announced as they come.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QFont, QFontMetrics, QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from ravatar_live.live.setup_check import LINES, CheckLine, SetupCheck, Verdict
from ravatar_live.ui.level_meter import LevelMeter
from ravatar_live.ui.theme import set_variant

VERDICT_WORDS = {Verdict.WAITING: "Waiting", Verdict.RUNNING: "Testing…",
                 Verdict.GREEN: "OK", Verdict.AMBER: "Check", Verdict.RED: "Problem"}
VERDICT_MARKS = {Verdict.WAITING: "○", Verdict.RUNNING: "◌", Verdict.GREEN: "✓",
                 Verdict.AMBER: "!", Verdict.RED: "✕"}
INTRO = ("Checks your microphone and speakers, the connection to RAVATAR and the avatar's "
         "video. When the microphone test starts, say a few words: you will hear them played "
         "back, then a short tone.")


class CheckRow(QFrame):
    """One line of the checklist."""

    def __init__(self, line: CheckLine, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("CheckRow")
        self.setFocusPolicy(Qt.FocusPolicy.TabFocus)  # screen-reader users Tab through lines
        self.status = QLabel(self)
        self.status.setObjectName("CheckStatus")
        self.status.setAlignment(Qt.AlignmentFlag.AlignCenter)
        # One width for every verdict (the style sheet makes it bold and pads it), so the
        # rows' texts line up whatever their verdicts.
        bold = QFont(self.status.font())
        bold.setBold(True)
        metrics = QFontMetrics(bold)
        self.status.setFixedWidth(max(metrics.horizontalAdvance(f"{VERDICT_MARKS[v]} {word}")
                                      for v, word in VERDICT_WORDS.items()) + 28)
        self.title = QLabel(line.title, self)
        self.title.setObjectName("CheckTitle")
        self.summary = QLabel(self)
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.advice = QLabel(self)
        self.advice.setObjectName("CheckAdvice")
        self.advice.setWordWrap(True)
        grid = QGridLayout(self)
        grid.setContentsMargins(10, 8, 10, 8)
        grid.setHorizontalSpacing(12)
        grid.setVerticalSpacing(2)
        grid.addWidget(self.status, 0, 0, 3, 1, Qt.AlignmentFlag.AlignTop)
        grid.addWidget(self.title, 0, 1)
        grid.addWidget(self.summary, 1, 1)
        grid.addWidget(self.advice, 2, 1)
        grid.setColumnStretch(1, 1)
        self.show_line(line)

    def show_line(self, line: CheckLine) -> None:
        word = VERDICT_WORDS[line.verdict]
        self.status.setText(f"{VERDICT_MARKS[line.verdict]} {word}")
        set_variant(self.status, "verdict", line.verdict.value)
        self.summary.setText(line.summary)
        self.summary.setVisible(bool(line.summary))
        self.advice.setText(line.advice)
        self.advice.setVisible(bool(line.advice))
        self.setAccessibleName(f"{line.title}: {word}")
        self.setAccessibleDescription(" ".join(t for t in (line.summary, line.advice) if t))


class SetupCheckDialog(QDialog):
    def __init__(self, check: SetupCheck, parent: QWidget | None = None, *,
                 announce: Callable[[str], object] | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Test your setup")
        self.setAccessibleName("Test your setup")
        self.setAccessibleDescription(INTRO)
        self._check = check
        self._announce = announce
        intro = QLabel(INTRO, self)
        intro.setWordWrap(True)

        body = QWidget(self)
        body.setObjectName("SettingsPageBody")
        rows = QVBoxLayout(body)
        rows.setContentsMargins(0, 0, 0, 0)
        rows.setSpacing(6)
        self.rows: dict[str, CheckRow] = {}
        for line in LINES:
            row = CheckRow(check.lines[line.key], body)
            self.rows[line.key] = row
            rows.addWidget(row)
        rows.addStretch(1)
        area = QScrollArea(self)
        area.setObjectName("SettingsPage")
        area.setWidgetResizable(True)
        area.setFrameShape(QFrame.Shape.NoFrame)
        area.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        area.setWidget(body)

        self.prompt = QLabel("Recording — say a few words", self)
        self.prompt.setObjectName("CheckPrompt")
        self.meter = LevelMeter(self)
        self.meter.setFixedHeight(8)
        self.meter.setAccessibleName("Microphone level")
        prompt_row = QHBoxLayout()
        prompt_row.addWidget(self.prompt)
        prompt_row.addWidget(self.meter, 1, Qt.AlignmentFlag.AlignVCenter)
        self._show_recording(False)

        buttons = QDialogButtonBox(self)
        self.run_button = QPushButton("Run again", self)
        self.run_button.setAccessibleDescription("Runs every check again")
        buttons.addButton(self.run_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.close_button = QPushButton("Cancel", self)
        buttons.addButton(self.close_button, QDialogButtonBox.ButtonRole.RejectRole)
        self.run_button.clicked.connect(self.run)
        self.close_button.clicked.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 18, 18, 14)
        layout.setSpacing(12)
        layout.addWidget(intro)
        layout.addWidget(area, 1)
        layout.addLayout(prompt_row)
        layout.addWidget(buttons)

        check.line_changed.connect(self._on_line)
        check.recording_changed.connect(self._show_recording)
        check.level.connect(self._on_level)
        check.finished.connect(self._on_finished)
        self.setMinimumSize(360, 320)
        screen = (self.screen() or QGuiApplication.primaryScreen()).availableGeometry()
        self.resize(min(680, screen.width() - 40), min(640, screen.height() - 60))

    @property
    def check(self) -> SetupCheck:
        return self._check

    @Slot()
    def run(self) -> None:
        self.run_button.setEnabled(False)
        self.close_button.setText("Cancel")
        self.close_button.setAccessibleDescription("Stops the test and closes")
        self._check.start()

    def reject(self) -> None:
        self._check.cancel()  # nothing keeps recording or playing once the dialog is gone
        super().reject()

    @Slot(object)
    def _on_line(self, line: CheckLine) -> None:
        self.rows[line.key].show_line(line)
        if self._announce is not None and line.verdict in (Verdict.GREEN, Verdict.AMBER,
                                                             Verdict.RED):
            self._announce(f"{line.title}: {VERDICT_WORDS[line.verdict]}. {line.summary} "
                           f"{line.advice}")

    @Slot(bool)
    def _show_recording(self, on: bool) -> None:
        self.prompt.setVisible(on)
        self.meter.setVisible(on)
        if not on:
            self.meter.reset()
        elif self._announce is not None:
            self._announce("Recording: say a few words.")

    @Slot(float)
    def _on_level(self, peak: float) -> None:
        self.meter.set_level(peak, peak)

    @Slot(bool)
    def _on_finished(self, _completed: bool) -> None:
        self.run_button.setEnabled(True)
        self.close_button.setText("Close")
        self.close_button.setAccessibleDescription("Closes the test")
        self.run_button.setFocus(Qt.FocusReason.OtherFocusReason)

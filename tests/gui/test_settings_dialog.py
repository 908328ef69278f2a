"""The settings dialog as a person meets it: it fits its content and resizes, checks each field
as it is typed, flags every bad field at once, drops a message the moment it is stale, and
records a push-to-talk key from the keyboard."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLabel, QScrollArea, QWidget

from ravatar_live.api.models import AvatarInfo, LanguageInfo
from ravatar_live.settings import Settings
from ravatar_live.ui.settings_dialog import SettingsDialog
from ravatar_live.ui.theme import apply_theme

pytestmark = pytest.mark.gui

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"

USER_ID = "0123456789abcdef01234567"
AVATARS = (AvatarInfo("a-1", "Rebecca", True), AvatarInfo("a-2", "Max", False))
LANGUAGES = (LanguageInfo("English", "en"), LanguageInfo("Deutsch", "de"))


@pytest.fixture
def dialog(qtbot, qapp) -> SettingsDialog:
    apply_theme(qapp)  # measured with the app's style sheet, as people see it
    made = SettingsDialog(Settings(user_id=USER_ID), avatars=AVATARS, languages=LANGUAGES,
                          sign_in_note="Sign-in tokens are kept in memory only, because no "
                          "system keychain is available. You will be signed in again on the "
                          "next start.")
    qtbot.addWidget(made)
    made.show()
    qtbot.waitExposed(made)
    return made


def messages(dialog: SettingsDialog) -> dict[str, str]:
    """Field name -> the message under it (on whichever page; a fine field has none)."""
    return {name: label.text() for name, (_w, label, _d) in dialog._fields.items()
            if label.text() and not label.isHidden()}


def clipped_labels(page: QWidget) -> list[str]:
    problems = []
    for label in page.findChildren(QLabel):
        if not label.isVisible() or not label.text():
            continue
        if label.wordWrap() and label.height() < label.heightForWidth(label.width()):
            problems.append(f"{label.text()[:30]!r} is cut at the bottom")
        elif not label.wordWrap() and label.width() < label.sizeHint().width():
            problems.append(f"{label.text()[:30]!r} is cut at the side")
    return problems


def test_every_page_fits_at_the_default_size(dialog, qtbot) -> None:
    for index in range(dialog.tabs.count()):
        dialog.tabs.setCurrentIndex(index)
        area = dialog.tabs.currentWidget()
        assert isinstance(area, QScrollArea)
        page = area.widget()
        # The page lays itself out once shown (and the scroll bars follow): a condition that
        # never comes true fails here.
        qtbot.waitUntil(lambda p=page: p.isVisible() and clipped_labels(p) == [],
                        timeout=3_000)
        qtbot.waitUntil(lambda a=area: not a.verticalScrollBar().isVisible()
                        and not a.horizontalScrollBar().isVisible(), timeout=3_000)
        ARTIFACTS.mkdir(exist_ok=True)
        name = dialog.tabs.tabText(index).replace("&&", "and").replace(" ", "-").lower()
        dialog.grab().save(str(ARTIFACTS / f"settings-{name}.png"))


def test_a_small_dialog_scrolls_instead_of_clipping(dialog, qtbot) -> None:
    dialog.tabs.setCurrentIndex(3)  # Connection: the longest page
    dialog.resize(380, 330)
    area = dialog.tabs.currentWidget()
    assert isinstance(area, QScrollArea)
    qtbot.waitUntil(lambda: area.verticalScrollBar().isVisible(), timeout=2_000)
    page = area.widget()
    assert page is not None
    qtbot.waitUntil(lambda: clipped_labels(page) == [], timeout=2_000)
    dialog.resize(900, 700)
    qtbot.waitUntil(lambda: not area.verticalScrollBar().isVisible(), timeout=2_000)


def test_fields_are_checked_as_they_are_typed_all_at_once(dialog) -> None:
    dialog.preset_combo.setCurrentIndex(dialog.preset_combo.findData("custom"))
    assert messages(dialog) == {}
    dialog.width_edit.setText("4000")
    assert "Width must be between 1 and 1920" in messages(dialog)["stream_width"]
    assert dialog._fields["stream_width"][1].isVisible(), "shown under the field"
    assert dialog.width_edit.property("invalid") == "true"
    dialog.height_edit.setText("tall")
    dialog.project_edit.setText("has space")
    dialog.api_edit.setText("chat.rvtr.ai")
    shown = messages(dialog)
    assert "Width must be" in shown["stream_width"] and "Height must be" in shown["stream_width"]
    assert "Project id" in shown["project_id"] and "API URL" in shown["api_url"]
    assert all(dialog._fields[name][0].property("invalid") == "true"
               for name in ("stream_width", "stream_height", "project_id", "api_url"))
    # A screen reader hears the problem on the field itself.
    assert "Project id must be" in dialog.project_edit.accessibleDescription()
    # Fixing one field clears its message only.
    dialog.project_edit.setText("good-project")
    assert "project_id" not in messages(dialog)
    assert dialog.project_edit.property("invalid") == "false"
    assert "api_url" in messages(dialog)


def test_a_preset_clears_a_stale_size_error(dialog) -> None:
    dialog.preset_combo.setCurrentIndex(dialog.preset_combo.findData("custom"))
    dialog.width_edit.setText("0")
    assert "stream_width" in messages(dialog)
    dialog.preset_combo.setCurrentIndex(dialog.preset_combo.findData("640x360"))
    assert messages(dialog) == {}
    assert not dialog.error_label.isVisible()
    assert dialog.width_edit.property("invalid") == "false"
    dialog.save_button.click()
    assert dialog.result_settings().stream_width == 640


def test_save_with_bad_fields_stays_and_goes_to_the_first(dialog) -> None:
    dialog.tabs.setCurrentIndex(0)
    dialog.ws_edit.setText("http://not-a-socket")
    dialog.save_button.click()
    assert dialog.isVisible()
    assert dialog.tabs.currentIndex() == 3, "moved to the page of the bad field"
    assert dialog.ws_edit.hasFocus()
    assert "WebSocket URL" in dialog.error_label.text()


def test_the_push_to_talk_key_is_recorded_from_the_keyboard(dialog, qtbot) -> None:
    dialog.tabs.setCurrentIndex(2)
    button = dialog.key_button
    button.setFocus()
    QTest.keyClick(button, Qt.Key.Key_Space)  # press the button: it listens
    assert button.capturing
    QTest.keyClick(button, Qt.Key.Key_Return)
    assert button.capturing, "Return is refused and it keeps listening"
    assert "cannot be the push-to-talk key" in messages(dialog)["push_to_talk_key"]
    QTest.keyClick(button, Qt.Key.Key_M, Qt.KeyboardModifier.ControlModifier
                   | Qt.KeyboardModifier.ShiftModifier)
    assert "already the shortcut" in messages(dialog)["push_to_talk_key"]
    assert button.capturing
    QTest.keyClick(button, Qt.Key.Key_F2)
    assert not button.capturing and button.key == "F2"
    assert "push_to_talk_key" not in messages(dialog)
    assert button.accessibleName() == "Push-to-talk key: F2"
    # Esc while listening keeps the key it had.
    QTest.keyClick(button, Qt.Key.Key_Return)
    QTest.keyClick(button, Qt.Key.Key_Escape)
    assert not button.capturing and button.key == "F2"
    dialog.theme_combo.setCurrentIndex(dialog.theme_combo.findData("light"))
    dialog.save_button.click()
    result = dialog.result_settings()
    assert (result.push_to_talk_key, result.theme) == ("F2", "light")


def test_echo_cancellation_and_noise_suppression_are_voice_settings(qtbot, qapp) -> None:
    made = SettingsDialog(Settings(user_id=USER_ID, echo_cancellation=False),
                          avatars=AVATARS, languages=LANGUAGES)
    qtbot.addWidget(made)
    assert not made.echo_check.isChecked() and made.noise_check.isChecked()
    assert "headphones" in made.echo_check.toolTip()
    made.echo_check.setChecked(True)
    made.noise_check.setChecked(False)
    made.save_button.click()
    chosen = made.result_settings()
    assert chosen.echo_cancellation and not chosen.noise_suppression

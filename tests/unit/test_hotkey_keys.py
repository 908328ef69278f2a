"""The global push-to-talk key: parsing Qt's portable text, naming it for each backend, and the
settings' rule that it must not be a key that types text in other apps."""

from __future__ import annotations

import pytest

from ravatar_live.hotkeys.backend import HotkeyUnavailable, make_backend
from ravatar_live.hotkeys.keys import HotkeyError, HotkeySpec
from ravatar_live.settings import Settings, SettingsError, validate_global_push_to_talk_key


@pytest.mark.parametrize(("text", "key", "modifiers", "trigger"), [
    ("F9", "F9", set(), "F9"),
    ("Ctrl+Shift+F9", "F9", {"Ctrl", "Shift"}, "CTRL+SHIFT+F9"),
    ("Alt+A", "A", {"Alt"}, "ALT+a"),
    ("Meta+Space", "Space", {"Meta"}, "LOGO+space"),
    ("Pause", "Pause", set(), "Pause"),
    ("Ctrl++", "+", {"Ctrl"}, "CTRL++"),
    ("PgDown", "PgDown", set(), "Next"),
])
def test_parse_and_portal_trigger(text, key, modifiers, trigger) -> None:
    spec = HotkeySpec.parse(text)
    assert (spec.key, set(spec.modifiers)) == (key, modifiers)
    assert spec.portal_trigger() == trigger


@pytest.mark.parametrize("text", ["", "Hyper+F9", "Ctrl+", "Shift"])
def test_parse_refuses_what_is_not_one_key(text) -> None:
    with pytest.raises(HotkeyError):
        HotkeySpec.parse(text)


def test_a_key_no_backend_can_name_is_refused_in_words() -> None:
    with pytest.raises(HotkeyError, match="cannot be used from other windows"):
        HotkeySpec.parse("Launch Mail").portal_trigger()


@pytest.mark.parametrize(("text", "accepted"), [
    ("", ""), ("F9", "F9"), ("Ctrl+Alt+T", "Ctrl+Alt+T"), ("Pause", "Pause")])
def test_settings_accept_off_and_keys_that_type_nothing(text, accepted) -> None:
    assert validate_global_push_to_talk_key(text) == accepted
    assert "global_push_to_talk_key" not in Settings(global_push_to_talk_key=text).problems()


@pytest.mark.parametrize(("text", "why"), [
    ("Space", "types text in other apps"),
    ("T", "types text in other apps"),
    ("Tab", "needed to move around"),
    ("Ctrl+Shift", "is not one key"),
])
def test_settings_refuse_typing_and_navigation_keys(text, why) -> None:
    with pytest.raises(SettingsError, match=why):
        validate_global_push_to_talk_key(text)
    assert "global_push_to_talk_key" in Settings(global_push_to_talk_key=text).problems()


def test_backend_choice_by_desktop() -> None:
    assert make_backend({"DISPLAY": ":0"}, "linux").name == "X11"
    assert "portal" in make_backend({"WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":0"},
                                    "linux").name
    assert make_backend({}, "win32").name == "Windows"
    assert make_backend({}, "darwin").name == "macOS"
    with pytest.raises(HotkeyUnavailable, match="no X11 or Wayland desktop"):
        make_backend({}, "linux")

"""The two colour schemes (dark and light) and the WCAG contrast arithmetic that keeps them legible.

Each colour is named for its job, once; the stylesheet template (resources/style/app.qss) refers to
these names as `@name@`. `TEXT_PAIRS` lists every text-on-background pair the window draws, and
`COMPONENT_PAIRS` the boundaries a person must see (focus ring, input borders): the tests hold
them to WCAG 2.1 AA (4.5:1 for text, 3:1 for components).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Final


@dataclass(frozen=True)
class Colors:
    name: str
    window: str  # the window's background
    surface: str  # bars and panels
    field: str  # text boxes, pickers
    button: str
    button_hover: str
    button_pressed: str
    divider: str  # decorative lines between areas
    outline: str  # the boundary of inputs and buttons (must be seen: 3:1)
    text: str
    muted: str  # secondary text
    disabled: str  # disabled text (WCAG exempts inactive controls)
    disabled_bg: str
    accent: str  # focus ring, links, the selected tab
    primary: str
    primary_hover: str
    on_primary: str
    primary_disabled: str
    on_primary_disabled: str
    danger: str
    danger_hover: str
    on_danger: str
    talk: str  # the big hold-to-talk button
    talk_outline: str
    talk_active: str
    record_active: str
    on_record_active: str
    hands_free_on: str
    on_hands_free_on: str
    chip: str
    on_chip: str
    chip_wait: str
    on_chip_wait: str
    chip_ok: str
    on_chip_ok: str
    chip_live: str
    on_chip_live: str
    chip_bad: str
    on_chip_bad: str
    badge: str
    on_badge: str
    banner: str
    banner_warning: str
    banner_error: str
    on_banner: str
    info: str  # banner edge and icon colours
    success: str
    warning: str
    error: str  # error text and marks on the window
    voice_listening: str
    voice_speech: str
    voice_recording: str
    voice_sending: str
    bubble_user: str
    on_bubble_user: str
    meta_user: str
    bubble_avatar: str
    on_bubble_avatar: str
    meta_avatar: str
    latency: str
    tooltip: str
    on_tooltip: str
    selection: str
    on_selection: str
    stream: str  # the letter-box around the avatar (always dark: video sits best on black)
    meter_track: str
    meter_peak: str
    scrollbar: str


DARK: Final = Colors(
    name="dark", window="#11141b", surface="#161a23", field="#1a1f2b", button="#242b3b",
    button_hover="#2c3447", button_pressed="#1b2030", divider="#262c3a", outline="#6b7591",
    text="#e6e9f0", muted="#a1a9bc", disabled="#6a7285", disabled_bg="#1a1e29",
    accent="#7d9bff", primary="#3e5fe0", primary_hover="#3556d4", on_primary="#ffffff",
    primary_disabled="#2a3458", on_primary_disabled="#8a96c0", danger="#c8363d",
    danger_hover="#b52f36", on_danger="#ffffff", talk="#2a3350", talk_outline="#5a6ba6",
    talk_active="#3e5fe0", record_active="#4a1f26", on_record_active="#ffc2c4",
    hands_free_on="#1d3a30", on_hands_free_on="#a6f0cc", chip="#262c3a", on_chip="#c3cad9",
    chip_wait="#2f2a1c", on_chip_wait="#f5c56b", chip_ok="#1c2e28", on_chip_ok="#6fe0a8",
    chip_live="#3a1d22", on_chip_live="#ff9da1", chip_bad="#3a1d22", on_chip_bad="#ff9da1",
    badge="#2b2540", on_badge="#cdbfff", banner="#1e2432", banner_warning="#302816",
    banner_error="#341a1e", on_banner="#f0f2f6", info="#7d9bff", success="#3ecf8e",
    warning="#f5b544", error="#ff8a8f", voice_listening="#6fe0a8", voice_speech="#ffd27a",
    voice_recording="#ff9da1", voice_sending="#a9bbff", bubble_user="#2f3f7a",
    on_bubble_user="#f3f5fa", meta_user="#c5cdea", bubble_avatar="#232a39",
    on_bubble_avatar="#eef0f5", meta_avatar="#a9b1c4", latency="#9fb4ff", tooltip="#2a3142",
    on_tooltip="#eef0f5", selection="#3e5fe0", on_selection="#ffffff", stream="#0b0d12",
    meter_track="#2a3142", meter_peak="#e6e9f0", scrollbar="#3a4358",
)

LIGHT: Final = Colors(
    name="light", window="#f3f4f7", surface="#ffffff", field="#ffffff", button="#eceef3",
    button_hover="#e1e4eb", button_pressed="#d6dae3", divider="#dfe2e9", outline="#7c849a",
    text="#1a1e27", muted="#505869", disabled="#9aa1b0", disabled_bg="#f0f1f4",
    accent="#2f56d0", primary="#2f56d0", primary_hover="#2649b8", on_primary="#ffffff",
    primary_disabled="#c9d3f2", on_primary_disabled="#5b6788", danger="#c0323a",
    danger_hover="#a82a31", on_danger="#ffffff", talk="#e4e9fb", talk_outline="#6a82d4",
    talk_active="#2f56d0", record_active="#fde4e5", on_record_active="#8c1f26",
    hands_free_on="#dcf5e9", on_hands_free_on="#145c3c", chip="#eceef3", on_chip="#3b4252",
    chip_wait="#fdf0d5", on_chip_wait="#7a5200", chip_ok="#dcf5e9", on_chip_ok="#145c3c",
    chip_live="#fde4e5", on_chip_live="#a1232b", chip_bad="#fde4e5", on_chip_bad="#a1232b",
    badge="#ece6ff", on_badge="#4b3a99", banner="#ffffff", banner_warning="#fff6e0",
    banner_error="#fdecec", on_banner="#1a1e27", info="#2f56d0", success="#1e8a5a",
    warning="#b87800", error="#b3262e", voice_listening="#176b45", voice_speech="#7a5200",
    voice_recording="#a1232b", voice_sending="#2f56d0", bubble_user="#2f56d0",
    on_bubble_user="#ffffff", meta_user="#dfe6ff", bubble_avatar="#eef0f5",
    on_bubble_avatar="#1a1e27", meta_avatar="#4f5768", latency="#2f4fb8", tooltip="#1f2430",
    on_tooltip="#f3f5fa", selection="#2f56d0", on_selection="#ffffff", stream="#0b0d12",
    meter_track="#dfe2e9", meter_peak="#1a1e27", scrollbar="#b9bfcc",
)

SCHEMES: Final = {"dark": DARK, "light": LIGHT}

#: (foreground, background, what it is): text the window draws, held to 4.5:1.
TEXT_PAIRS: Final = (
    ("text", "window", "text on the window"),
    ("text", "surface", "text on bars and panels"),
    ("text", "field", "typed text"),
    ("text", "button", "button labels"),
    ("text", "button_hover", "button labels under the pointer"),
    ("text", "talk", "the hold-to-talk label"),
    ("muted", "window", "secondary text on the window"),
    ("muted", "surface", "secondary text on panels"),
    ("muted", "field", "placeholder text"),
    ("on_primary", "primary", "primary button labels"),
    ("on_primary", "primary_hover", "primary button labels under the pointer"),
    ("on_primary", "talk_active", "hold-to-talk while held"),
    ("on_danger", "danger", "the End session button"),
    ("on_danger", "danger_hover", "the End session button under the pointer"),
    ("on_record_active", "record_active", "Stop & send while recording"),
    ("on_hands_free_on", "hands_free_on", "hands-free when on"),
    ("on_chip", "chip", "status chip: offline"),
    ("on_chip_wait", "chip_wait", "status chip: connecting, reconnecting"),
    ("on_chip_ok", "chip_ok", "status chip: connected"),
    ("on_chip_live", "chip_live", "status chip: live"),
    ("on_chip_bad", "chip_bad", "status chip: offline after an error"),
    ("on_badge", "badge", "the demo badge"),
    ("on_banner", "banner", "banner text"),
    ("on_banner", "banner_warning", "warning banner text"),
    ("on_banner", "banner_error", "error banner text"),
    ("error", "window", "field errors in Settings"),
    ("error", "surface", "microphone problems in the talk bar"),
    ("voice_listening", "surface", "voice state: listening"),
    ("voice_speech", "surface", "voice state: hearing you"),
    ("voice_recording", "surface", "voice state: recording"),
    ("voice_sending", "surface", "voice state: sending"),
    ("on_bubble_user", "bubble_user", "your messages"),
    ("meta_user", "bubble_user", "time under your messages"),
    ("on_bubble_avatar", "bubble_avatar", "the avatar's messages"),
    ("meta_avatar", "bubble_avatar", "time under the avatar's messages"),
    ("latency", "bubble_avatar", "reply times"),
    ("on_tooltip", "tooltip", "tooltips"),
    ("on_selection", "selection", "selected text and list items"),
    ("accent", "window", "links and the selected tab"),
)

#: Boundaries and marks a person must be able to see, held to 3:1.
COMPONENT_PAIRS: Final = (
    ("accent", "window", "the focus ring on the window"),
    ("accent", "surface", "the focus ring on panels"),
    ("accent", "field", "the focus ring around a text box"),
    ("accent", "button", "the focus ring around a button"),
    ("outline", "surface", "text box and picker borders on panels"),
    ("outline", "window", "text box and picker borders on the window"),
    ("talk_outline", "surface", "the hold-to-talk button's edge"),
    ("info", "banner", "the banner's information icon"),
    ("warning", "banner_warning", "the banner's warning icon"),
    ("error", "banner_error", "the banner's error icon"),
    ("success", "banner", "the banner's success icon"),
)


def _channel(value: int) -> float:
    c = value / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def relative_luminance(color: str) -> float:
    """WCAG 2.1 relative luminance of '#rrggbb'."""
    text = color.lstrip("#")
    if len(text) != 6:
        raise ValueError(f"not a #rrggbb colour: {color!r}")
    r, g, b = (int(text[i:i + 2], 16) for i in (0, 2, 4))
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast_ratio(foreground: str, background: str) -> float:
    """WCAG 2.1 contrast ratio, 1 to 21."""
    a, b = relative_luminance(foreground), relative_luminance(background)
    light, dark = max(a, b), min(a, b)
    return (light + 0.05) / (dark + 0.05)


def template_values(colors: Colors) -> dict[str, str]:
    """`@name@` -> colour, for the stylesheet template."""
    return {f"@{f.name}@": getattr(colors, f.name) for f in fields(Colors) if f.name != "name"}

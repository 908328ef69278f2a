"""The simulator's fixed cast: avatars (UUID ids, one without Live Mode), languages, icons."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape


@dataclass(frozen=True)
class Avatar:
    """An avatar as /connection lists it; `color` tints its icons and stream face."""

    avatar_id: str
    name: str
    has_live_mode: bool
    greeting: str
    color: str


AVATARS: tuple[Avatar, ...] = (
    Avatar("e2a4c6d8-1b3d-4f5a-8c7e-9a0b1c2d3e4f", "Rebecca", True,
           "Hello! I'm Rebecca. How can I help you today?", "#4f8cc9"),
    Avatar("7c1d9e2f-3a4b-4c5d-9e6f-0a1b2c3d4e5f", "Marcus", True,
           "Hi there, I'm Marcus. Ask me anything.", "#c9784f"),
    Avatar("0f9e8d7c-6b5a-4493-8271-605f4e3d2c1b", "Iris", False,
           "Hello, I'm Iris. I only do text and voice chat, not Live Mode.", "#8a5fc9"),
)

LANGUAGES: tuple[tuple[str, str], ...] = (("English", "en"), ("German", "de"), ("Spanish", "es"))

CHAT_TYPES: tuple[str, ...] = ("text", "voice")

ICON_SIZES = {"small": 64, "medium": 128, "large": 256, "start": 96}


def avatar_by_id(avatar_id: object) -> Avatar | None:
    """The avatar with this id, or None."""
    return next((a for a in AVATARS if a.avatar_id == avatar_id), None)


def avatar_info(avatar: Avatar, origin: str) -> dict[str, object]:
    """The avatar's /connection entry; icon URLs point back at this simulator."""
    icons = f"{origin}/avatars/{avatar.avatar_id}"
    return {
        "_id": avatar.avatar_id,
        "name": avatar.name,
        "hasLiveMode": avatar.has_live_mode,
        "greetingText": avatar.greeting,
        "previewIcons": {size: f"{icons}/{size}.svg" for size in ("small", "medium", "large")},
        "startButtonIcon": f"{icons}/start.svg",
    }


def languages_info() -> list[dict[str, str]]:
    """The /connection language list."""
    return [{"name": name, "language_code": code} for name, code in LANGUAGES]


def icon_svg(avatar: Avatar, size: str) -> str:
    """A small stylised face (or, for "start", a play button) as SVG."""
    px = ICON_SIZES[size]
    if size == "start":
        return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{px}" height="{px}" '
                f'viewBox="0 0 100 100"><title>Start {escape(avatar.name)}</title>'
                f'<circle cx="50" cy="50" r="46" fill="{avatar.color}"/>'
                '<polygon points="40,30 72,50 40,70" fill="#fff"/></svg>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{px}" height="{px}" '
            f'viewBox="0 0 100 100"><title>{escape(avatar.name)}</title>'
            '<rect width="100" height="100" rx="12" fill="#1d232b"/>'
            f'<circle cx="50" cy="52" r="34" fill="{avatar.color}"/>'
            '<circle cx="38" cy="45" r="5" fill="#fff"/><circle cx="62" cy="45" r="5" fill="#fff"/>'
            '<path d="M36 64 Q50 75 64 64" stroke="#fff" stroke-width="4" fill="none" '
            'stroke-linecap="round"/></svg>')

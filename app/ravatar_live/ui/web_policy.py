"""What the stream's web view may do, as plain functions: which origin an URL has, which
permission requests are granted, and where its frames may navigate.

- Permissions: the microphone only, only to the stream's own origin, only in the stream page's
  voice route. Nothing else (camera, location, notifications, clipboard) is ever granted.
- Navigation: the top frame shows the host page (or, for a server that refuses to be framed,
  the stream page itself); the stream frame stays on the stream's origin. Anything else is
  refused; a link the user clicked may be offered to the system browser (the window asks).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from PySide6.QtWebEngineCore import QWebEnginePermission

from ravatar_live.ui.host_scheme import HOST_SCHEME

_MIC_TYPES = (
    QWebEnginePermission.PermissionType.MediaAudioCapture,
    QWebEnginePermission.PermissionType.MediaAudioVideoCapture,
)
_BROWSER_SCHEMES = ("http", "https")


def origin_of(url: str) -> str:
    """scheme://host[:port] as the browser writes an origin (default ports left out); a blob:
    URL has the origin of the page that made it. "" for what has no origin."""
    if url[:5].lower() == "blob:":
        url = url[5:]
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return ""
    if not parts.scheme or not host:
        return ""
    if ":" in host:
        host = f"[{host}]"
    default_port = {"http": 80, "https": 443}.get(parts.scheme)
    shown_port = f":{port}" if port and port != default_port else ""
    return f"{parts.scheme}://{host}{shown_port}"


def may_grant(kind: QWebEnginePermission.PermissionType, origin: str, *,
              allow_microphone: bool, stream_origin: str) -> bool:
    """The web view's whole permission policy: the microphone only, only to the stream's own
    origin, only when the voice route gives it to the page."""
    return (kind in _MIC_TYPES and allow_microphone and bool(stream_origin)
            and origin == stream_origin)


def navigation_allowed(url: str, *, main_frame: bool, direct_mode: bool,
                       stream_origin: str) -> bool:
    """May a frame of the view go to `url`? The top frame: only the host page (or, in direct
    mode, the stream's origin); any other frame: only the stream's origin."""
    if main_frame and not direct_mode:
        try:
            parts = urlsplit(url)
        except ValueError:
            return False
        return (parts.scheme, parts.netloc, parts.path) == (HOST_SCHEME, "app", "/host.html")
    return bool(stream_origin) and origin_of(url) == stream_origin


def may_offer_externally(url: str) -> bool:
    """A refused link worth offering to the system browser: an ordinary web address."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme.lower() in _BROWSER_SCHEMES and bool(parts.hostname)

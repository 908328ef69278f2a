"""The stream page's permission policy.

Chromium here has no audio device, so it answers a page's getUserMedia with "not found" before
ever asking the app: the policy cannot be driven through a real page on this machine. These
tests therefore call the policy function that the view's permissionRequested slot applies.
"""

from __future__ import annotations

import pytest
from PySide6.QtWebEngineCore import QWebEnginePermission

from ravatar_live.ui.stream_view import may_grant, origin_of

Kind = QWebEnginePermission.PermissionType
STREAM = "https://stream.example.com"


@pytest.mark.parametrize("kind", [Kind.MediaAudioCapture, Kind.MediaAudioVideoCapture])
def test_the_microphone_goes_to_the_stream_origin_only_when_allowed(kind) -> None:
    assert may_grant(kind, STREAM, allow_microphone=True, stream_origin=STREAM)
    assert not may_grant(kind, STREAM, allow_microphone=False, stream_origin=STREAM)
    assert not may_grant(kind, "https://evil.example.com", allow_microphone=True,
                         stream_origin=STREAM)
    assert not may_grant(kind, "http://stream.example.com", allow_microphone=True,
                         stream_origin=STREAM), "another scheme is another origin"
    assert not may_grant(kind, "", allow_microphone=True, stream_origin="")


@pytest.mark.parametrize("kind", [Kind.MediaVideoCapture, Kind.Geolocation, Kind.Notifications,
                                  Kind.DesktopVideoCapture, Kind.ClipboardReadWrite])
def test_nothing_else_is_ever_granted(kind) -> None:
    assert not may_grant(kind, STREAM, allow_microphone=True, stream_origin=STREAM)


def test_origins_are_compared_as_the_browser_writes_them() -> None:
    assert origin_of("https://stream.example.com:443/stream/abc?token=x") == STREAM
    assert origin_of("http://127.0.0.1:8765/stream/a") == "http://127.0.0.1:8765"
    assert origin_of("http://[::1]:80/x") == "http://[::1]"

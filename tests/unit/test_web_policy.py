"""Where the stream's web view may go, as plain rules (the real view applies them in
tests/gui/test_stream_view_lane.py)."""

from __future__ import annotations

import pytest

from ravatar_live.ui.host_scheme import HOST_URL
from ravatar_live.ui.web_policy import may_offer_externally, navigation_allowed, origin_of

STREAM = "https://stream.example.com:8443"


@pytest.mark.parametrize(("url", "origin"), [
    ("blob:https://stream.example.com:8443/0b6e-11", STREAM),
    ("ravatar-host://app/host.html", "ravatar-host://app"),
    ("about:blank", ""), ("data:text/html,hi", ""), ("http://[::1/x", ""), ("", ""),
])
def test_origin_of_other_kinds_of_address(url: str, origin: str) -> None:
    assert origin_of(url) == origin


@pytest.mark.parametrize(("url", "allowed"), [
    (HOST_URL, True),
    (HOST_URL + "?x=1#y", True),
    ("ravatar-host://app/host.js", False),
    ("ravatar-host://other/host.html", False),
    ("file:///etc/passwd", False),
    (f"{STREAM}/", False),  # the stream page replacing the host page
    ("https://evil.example/", False),
])
def test_the_top_frame_shows_the_host_page_only(url: str, allowed: bool) -> None:
    assert navigation_allowed(url, main_frame=True, direct_mode=False,
                              stream_origin=STREAM) is allowed


@pytest.mark.parametrize(("url", "allowed"), [
    (f"{STREAM}/?token=x", True),
    (f"{STREAM}/forbidden", True),  # its own refusal page
    (f"blob:{STREAM}/abc", True),
    ("https://stream.example.com/", False),  # another port is another origin
    ("http://stream.example.com:8443/", False),  # and another scheme
    ("https://evil.example/?next=https://stream.example.com:8443", False),
    (HOST_URL, False),
    ("about:blank", False),
    ("javascript:alert(1)", False),
])
def test_the_stream_frame_stays_on_the_streams_origin(url: str, allowed: bool) -> None:
    assert navigation_allowed(url, main_frame=False, direct_mode=False,
                              stream_origin=STREAM) is allowed


def test_in_direct_mode_the_top_frame_is_the_stream_page() -> None:
    assert navigation_allowed(f"{STREAM}/p", main_frame=True, direct_mode=True,
                              stream_origin=STREAM)
    assert not navigation_allowed("https://evil.example/", main_frame=True, direct_mode=True,
                                  stream_origin=STREAM)
    assert not navigation_allowed(HOST_URL, main_frame=True, direct_mode=True,
                                  stream_origin=STREAM)


def test_without_a_stream_no_frame_may_load_anything() -> None:
    assert not navigation_allowed(f"{STREAM}/", main_frame=False, direct_mode=False,
                                  stream_origin="")


@pytest.mark.parametrize(("url", "offered"), [
    ("https://ravatar.ai/help", True), ("http://example.com/", True),
    ("file:///etc/passwd", False), ("javascript:alert(1)", False), ("mailto:a@b.c", False),
    ("ravatar-host://app/host.html", False), ("https://", False),
])
def test_only_web_addresses_are_offered_to_the_browser(url: str, offered: bool) -> None:
    assert may_offer_externally(url) is offered

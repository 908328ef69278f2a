"""URL building: token= on stream/WS URLs, the WS URL from the API base."""

from __future__ import annotations

from urllib.parse import parse_qs, parse_qsl, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ravatar_live.api.errors import InvalidRequestError
from ravatar_live.api.urls import (
    PlainHttpTokenError,
    api_endpoint,
    is_loopback_host,
    normalise_api_url,
    plain_token_transport,
    require_token_transport,
    stream_url_with_token,
    without_secrets,
    ws_url_from_api,
    ws_url_with_token,
)

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln-_"


@pytest.mark.parametrize(("url", "expected"), [
    ("https://s.example/stream/L1", f"https://s.example/stream/L1?token={JWT}"),
    ("https://s.example/stream/L1?width=1280&height=720",
     f"https://s.example/stream/L1?width=1280&height=720&token={JWT}"),
    ("https://s.example/p?a=1#view", f"https://s.example/p?a=1&token={JWT}#view"),
    ("https://s.example/p#frag", f"https://s.example/p?token={JWT}#frag"),
    ("https://s.example/p?token=old&a=1", f"https://s.example/p?a=1&token={JWT}"),
    ("https://s.example/p?a=x+y%2Bz&token=old&token=older",
     f"https://s.example/p?a=x+y%2Bz&token={JWT}"),
    ("http://127.0.0.1:8080/stream/L?", f"http://127.0.0.1:8080/stream/L?token={JWT}"),
])
def test_stream_url_with_token(url: str, expected: str) -> None:
    assert stream_url_with_token(url, JWT) == expected


def test_token_is_encoded_exactly_once() -> None:
    url = stream_url_with_token("https://h/p", "a+b/c=d%41 e&f#g")
    assert urlsplit(url).query == "token=a%2Bb%2Fc%3Dd%2541%20e%26f%23g"
    assert parse_qs(urlsplit(url).query)["token"] == ["a+b/c=d%41 e&f#g"]


@pytest.mark.parametrize(("url", "token"), [("ftp://h/p", JWT), ("not a url", JWT),
                                            ("https://h/p", ""), ("http://[::1/p", JWT)])
def test_bad_input_gives_a_typed_error(url: str, token: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        stream_url_with_token(url, token)
    assert info.value.user_message


@settings(max_examples=300)
@given(token=st.text(min_size=1, max_size=60),
       query=st.lists(st.tuples(st.text("abcxyz_", min_size=1, max_size=5),
                                st.text("abc123 +&=%", max_size=6)), max_size=3),
       fragment=st.sampled_from(["", "frag", "a/b?c"]))
def test_token_round_trips_through_urllib(token: str, query: list[tuple[str, str]],
                                          fragment: str) -> None:
    from urllib.parse import urlencode
    base = "https://h.example/stream/L1"
    if query:
        base += "?" + urlencode(query)
    if fragment:
        base += "#" + fragment
    url = stream_url_with_token(base, token)
    parts = urlsplit(url)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    assert [v for k, v in pairs if k == "token"] == [token]
    assert [(k, v) for k, v in pairs if k != "token"] == [(k, v) for k, v in query
                                                          if k != "token"]
    assert parts.fragment == fragment
    # Adding a second token replaces the first.
    again = stream_url_with_token(url, "second")
    assert parse_qs(urlsplit(again).query)["token"] == ["second"]


@pytest.mark.parametrize(("api", "ws"), [
    ("https://chat.rvtr.ai", "wss://chat.rvtr.ai/ws/chat"),
    ("https://chat.rvtr.ai/", "wss://chat.rvtr.ai/ws/chat"),
    ("http://127.0.0.1:8765", "ws://127.0.0.1:8765/ws/chat"),
    ("http://127.0.0.1:8765/", "ws://127.0.0.1:8765/ws/chat"),
    ("HTTPS://Chat.rvtr.ai:8443/api/", "wss://Chat.rvtr.ai:8443/api/ws/chat"),
    ("chat.rvtr.ai", "wss://chat.rvtr.ai/ws/chat"),
    ("http://[::1]:9000", "ws://[::1]:9000/ws/chat"),
])
def test_ws_url_from_api(api: str, ws: str) -> None:
    assert ws_url_from_api(api) == ws


@pytest.mark.parametrize("api", ["", "ftp://x", "https://", "ws://"])
def test_ws_url_from_bad_api_url(api: str) -> None:
    with pytest.raises(InvalidRequestError):
        ws_url_from_api(api)


def test_ws_url_with_token_keeps_query_and_refuses_http() -> None:
    assert ws_url_with_token("ws://h:1/ws/chat?v=2", JWT) == f"ws://h:1/ws/chat?v=2&token={JWT}"
    with pytest.raises(InvalidRequestError):
        ws_url_with_token("https://h/ws/chat", JWT)


def test_helpers() -> None:
    assert normalise_api_url(" https://h:1/base/ ") == "https://h:1/base"
    assert api_endpoint("https://h/", "/jwt") == "https://h/jwt"
    assert without_secrets(f"wss://h/ws/chat?token={JWT}#x") == "wss://h/ws/chat"


# --- the token travels encrypted, or stays on this computer ----------------------------------
@pytest.mark.parametrize("url", [
    "https://chat.rvtr.ai", "wss://chat.rvtr.ai/ws/chat", "http://127.0.0.1:8765",
    "ws://127.0.0.1:8765/ws/chat", "http://127.9.9.9/x", "http://localhost:80/",
    "http://LOCALHOST.", "http://stream.localhost/p", "http://[::1]:8080/s", "ws://[::1]/ws",
])
def test_the_token_may_go_encrypted_or_to_this_computer(url: str) -> None:
    assert not plain_token_transport(url)
    require_token_transport(url, allow_plain_http=False)


@pytest.mark.parametrize("url", [
    "http://chat.example.com", "ws://chat.example.com/ws/chat", "http://192.168.1.20:8765/s",
    "HTTP://Chat.Example.com/", "http://[2001:db8::1]/s", "http://127.0.0.1.evil.example/",
    "http://localhost.evil.example/", "ws://10.0.0.1:80/ws",
])
def test_the_token_is_refused_unencrypted_to_another_computer(url: str) -> None:
    assert plain_token_transport(url)
    with pytest.raises(PlainHttpTokenError) as info:
        require_token_transport(url, allow_plain_http=False)
    words = info.value.user_message
    assert "unencrypted" in words and "Settings › Connection" in words and "https://" in words
    assert isinstance(info.value, InvalidRequestError)
    require_token_transport(url, allow_plain_http=True)  # the user's explicit choice


def test_the_refusal_never_shows_the_token() -> None:
    with pytest.raises(PlainHttpTokenError) as info:
        require_token_transport(f"http://chat.example.com/s?token={JWT}#token={JWT}",
                                allow_plain_http=False)
    assert JWT not in str(info.value)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost",
                                  "a.localhost"])
def test_loopback_hosts(host: str) -> None:
    assert is_loopback_host(host)


@pytest.mark.parametrize("host", ["", "example.com", "0.0.0.0", "192.0.2.2", "::",
                                  "localhost.com", "128.0.0.1"])
def test_other_hosts(host: str) -> None:
    assert not is_loopback_host(host)

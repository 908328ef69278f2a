"""Pixel Streaming signalling: every message a player meets parses to its model, builders write
the wire form, and hostile frames never raise (hypothesis)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ravatar_live.api import pixel_streaming as ps

OFFER_SDP = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n"


def frame(**fields: Any) -> str:
    return json.dumps(fields)


def test_config_reads_ice_servers_in_both_shapes() -> None:
    msg = ps.parse_signal(frame(type="config", protocolVersion="1.1.0", peerConnectionOptions={
        "iceServers": [{"urls": ["stun:stun.example:19302", 5]},
                       {"urls": "turn:t.example", "username": "u", "credential": "c"},
                       {"urls": []}, "junk"]}))
    assert msg == ps.Config((ps.IceServer(("stun:stun.example:19302",)),
                             ps.IceServer(("turn:t.example",), "u", "c")), "1.1.0")
    assert ps.parse_signal(frame(type="config")) == ps.Config()


def test_the_player_flow_messages_parse() -> None:
    assert ps.parse_signal(frame(type="playerCount", count=2)) == ps.PlayerCount(2)
    assert ps.parse_signal(frame(type="streamerList", ids=["a", 3, "", "b"])) == \
        ps.StreamerList(("a", "b"))
    assert ps.parse_signal(frame(type="offer", sdp=OFFER_SDP, playerId="p1", sfu=False)) == \
        ps.Offer(OFFER_SDP)
    assert ps.parse_signal(frame(type="ping", time=1700000000123)) == ps.Ping(1700000000123.0)
    assert ps.parse_signal(frame(type="pong", time=5)) == ps.Pong(5.0)
    assert ps.parse_signal(frame(type="streamerDisconnected")) == ps.StreamerDisconnected()
    assert ps.parse_signal(frame(type="subscribeFailed", message="no such streamer")) == \
        ps.SubscribeFailed("no such streamer")
    assert ps.parse_signal(frame(type="streamerIdChanged", newID="s2")) == \
        ps.StreamerIdChanged("s2")


def test_ice_candidates_nested_and_flat() -> None:
    text = "candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host"
    nested = frame(type="iceCandidate",
                   candidate={"candidate": text, "sdpMid": "0", "sdpMLineIndex": 0,
                              "usernameFragment": "abc"})
    assert ps.parse_signal(nested) == ps.IceCandidate(text, "0", 0)
    flat = frame(type="iceCandidate", candidate=text, sdpMLineIndex=1)
    assert ps.parse_signal(flat) == ps.IceCandidate(text, None, 1)
    end = frame(type="iceCandidate", candidate={"candidate": "", "sdpMid": "0"})
    assert ps.parse_signal(end) == ps.IceCandidate("", "0", None)


@pytest.mark.parametrize(("text", "reason"), [
    ("not json", "not JSON"),
    ("[1, 2]", "not a JSON object"),
    (frame(kind="offer"), "no type"),
    (frame(type="offer", sdp=""), "no session description"),
    (frame(type="streamerList"), "streamer list is missing"),
    (frame(type="iceCandidate", candidate={"candidate": "x"}), "names no media section"),
    (frame(type="iceCandidate", candidate={"candidate": "x", "sdpMLineIndex": True}),
     "names no media section"),
    (frame(type="streamerIdChanged"), "new streamer id is missing"),
    (frame(type="layerPreference", spatialLayer=1), "does not use"),
])
def test_unusable_frames_say_why(text: str, reason: str) -> None:
    msg = ps.parse_signal(text)
    assert isinstance(msg, ps.Unrecognised)
    assert reason in msg.reason


def test_bytes_frames_and_huge_frames() -> None:
    assert ps.parse_signal(frame(type="ping", time=1).encode()) == ps.Ping(1.0)
    assert isinstance(ps.parse_signal(b"\xff\xfe"), ps.Unrecognised)
    huge = ps.parse_signal(frame(type="offer", sdp="m=" + "x" * ps.MAX_FRAME_CHARS))
    assert isinstance(huge, ps.Unrecognised) and "too large" in huge.reason


def test_builders_write_the_wire_form() -> None:
    assert json.loads(ps.list_streamers()) == {"type": "listStreamers"}
    assert json.loads(ps.subscribe("s1")) == {"type": "subscribe", "streamerId": "s1"}
    assert json.loads(ps.unsubscribe()) == {"type": "unsubscribe"}
    assert json.loads(ps.answer("v=0")) == {"type": "answer", "sdp": "v=0"}
    assert json.loads(ps.pong(12.0)) == {"type": "pong", "time": 12.0}
    assert json.loads(ps.ping(3)) == {"type": "ping", "time": 3}
    candidate = ps.IceCandidate("candidate:1 1 udp 1 127.0.0.1 9 typ host", "0", 0)
    assert json.loads(ps.ice_candidate(candidate)) == {
        "type": "iceCandidate",
        "candidate": {"candidate": candidate.candidate, "sdpMid": "0", "sdpMLineIndex": 0}}
    # A built candidate reads back as itself.
    assert ps.parse_signal(ps.ice_candidate(candidate)) == candidate


def test_choose_streamer_keeps_the_previous_one() -> None:
    assert ps.choose_streamer((), None) is None
    assert ps.choose_streamer(("a", "b"), None) == "a"
    assert ps.choose_streamer(("a", "b"), "b") == "b"
    assert ps.choose_streamer(("a", "b"), "gone") == "a"


json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner,
                                                                max_size=4),
    max_leaves=20)
TYPES = ["config", "playerCount", "streamerList", "offer", "iceCandidate", "ping", "pong",
         "streamerDisconnected", "subscribeFailed", "streamerIdChanged", "answer", "identify"]
KEYS = ["type", "sdp", "ids", "count", "candidate", "sdpMid", "sdpMLineIndex", "time",
        "message", "newID", "peerConnectionOptions", "iceServers", "urls", "protocolVersion"]
frame_like = st.dictionaries(
    st.sampled_from(KEYS) | st.text(max_size=6),
    st.sampled_from(TYPES) | json_values | st.just({"iceServers": [{"urls": 1}]}),
    max_size=8)
MODELS = (ps.Config, ps.PlayerCount, ps.StreamerList, ps.Offer, ps.IceCandidate, ps.Ping,
          ps.Pong, ps.StreamerDisconnected, ps.SubscribeFailed, ps.StreamerIdChanged,
          ps.Unrecognised)


@settings(max_examples=400)
@given(frame_like)
def test_hostile_frame_like_objects_never_raise(obj: dict[str, Any]) -> None:
    msg = ps.parse_signal(json.dumps(obj))
    assert isinstance(msg, MODELS)
    # Whatever was accepted is well-typed for the code that acts on it.
    if isinstance(msg, ps.Offer):
        assert isinstance(msg.sdp, str)
    if isinstance(msg, ps.IceCandidate):
        assert msg.sdp_mid is not None or msg.sdp_mline_index is not None
    if isinstance(msg, ps.StreamerList):
        assert all(isinstance(i, str) and i for i in msg.ids)
    if isinstance(msg, ps.Config):
        assert all(all(isinstance(u, str) for u in s.urls) for s in msg.ice_servers)


@settings(max_examples=300)
@given(json_values)
def test_any_json_value_never_raises(value: Any) -> None:
    assert isinstance(ps.parse_signal(json.dumps(value)), MODELS)


@settings(max_examples=300)
@given(st.binary(max_size=200) | st.text(max_size=200))
def test_any_bytes_or_text_never_raises(data: bytes | str) -> None:
    assert isinstance(ps.parse_signal(data), MODELS)


def test_deep_nesting_is_not_a_crash() -> None:
    assert isinstance(ps.parse_signal("[" * 100_000 + "]" * 100_000), ps.Unrecognised)

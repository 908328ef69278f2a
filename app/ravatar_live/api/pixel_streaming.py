"""Epic's Pixel Streaming signalling, as a player speaks it (PROTOCOL.md section 3). No Qt, no I/O.

One JSON text frame per message, each with a `type`. The UE 5.x player flow:

    server -> `config {peerConnectionOptions}` and `playerCount {count}`
    player -> `listStreamers`;             server -> `streamerList {ids}` (empty while starting)
    player -> `subscribe {streamerId}`;    streamer -> `offer {sdp}` (or `subscribeFailed`)
    player -> `answer {sdp}`
    both   -> `iceCandidate {candidate: {candidate, sdpMid, sdpMLineIndex}}`
    server -> `ping {time}`, answered with `pong {time}` (and the other way round)
    server -> `streamerDisconnected` when the stream is gone

Incoming frames: `parse_signal()` never raises; a frame it cannot use becomes `Unrecognised` with
the reason (unknown types are normal: the protocol grows). Outgoing frames: the builders below
return the JSON text to send.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

MAX_FRAME_CHARS = 1_000_000  # an SDP is a few kB; anything this large is not a real message


@dataclass(frozen=True)
class IceServer:
    """One STUN/TURN server from the `config` message."""

    urls: tuple[str, ...]
    username: str | None = None
    credential: str | None = None


@dataclass(frozen=True)
class Config:
    """`config`: how to build the peer connection (ICE servers; may be empty offline)."""

    ice_servers: tuple[IceServer, ...] = ()
    protocol_version: str | None = None


@dataclass(frozen=True)
class PlayerCount:
    count: int


@dataclass(frozen=True)
class StreamerList:
    """`streamerList`: the streamers one may subscribe to (empty while the stream starts)."""

    ids: tuple[str, ...]


@dataclass(frozen=True)
class Offer:
    """`offer`: the streamer's session description."""

    sdp: str


@dataclass(frozen=True)
class IceCandidate:
    """`iceCandidate`: one trickled candidate ("" = end of candidates)."""

    candidate: str
    sdp_mid: str | None
    sdp_mline_index: int | None


@dataclass(frozen=True)
class Ping:
    time: float | None


@dataclass(frozen=True)
class Pong:
    time: float | None


@dataclass(frozen=True)
class StreamerDisconnected:
    """The streamer left: the stream is gone."""


@dataclass(frozen=True)
class SubscribeFailed:
    message: str


@dataclass(frozen=True)
class StreamerIdChanged:
    new_id: str


@dataclass(frozen=True)
class Unrecognised:
    """A frame a player has no use for, or a malformed one; `reason` says which."""

    type: str | None
    reason: str


SignalMessage = (Config | PlayerCount | StreamerList | Offer | IceCandidate | Ping | Pong
                 | StreamerDisconnected | SubscribeFailed | StreamerIdChanged | Unrecognised)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _index(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 1024:
        return None
    return value


def _ice_servers(options: object) -> tuple[IceServer, ...]:
    """ICE servers from `peerConnectionOptions`; entries that are not usable are skipped."""
    if not isinstance(options, dict):
        return ()
    servers = options.get("iceServers")
    if not isinstance(servers, list):
        return ()
    found: list[IceServer] = []
    for entry in servers:
        if not isinstance(entry, dict):
            continue
        urls = entry.get("urls", entry.get("url"))
        url_list = [urls] if isinstance(urls, str) else urls if isinstance(urls, list) else []
        clean = tuple(u for u in url_list if isinstance(u, str) and u)
        if clean:
            found.append(IceServer(clean, _text(entry.get("username")),
                                   _text(entry.get("credential"))))
    return tuple(found)


def _candidate(message: dict[str, Any]) -> SignalMessage:
    body = message.get("candidate")
    if isinstance(body, str):  # some servers flatten the candidate into the message
        body = {"candidate": body, "sdpMid": message.get("sdpMid"),
                "sdpMLineIndex": message.get("sdpMLineIndex")}
    if not isinstance(body, dict):
        return Unrecognised("iceCandidate", "the candidate is missing")
    text = body.get("candidate")
    if not isinstance(text, str):
        return Unrecognised("iceCandidate", "the candidate text is missing")
    mid, index = _text(body.get("sdpMid")), _index(body.get("sdpMLineIndex"))
    if mid is None and index is None:
        return Unrecognised("iceCandidate", "the candidate names no media section")
    return IceCandidate(text, mid, index)


def _from_object(message: dict[str, Any]) -> SignalMessage:
    kind = message.get("type")
    if not isinstance(kind, str):
        return Unrecognised(None, "the frame has no type")
    match kind:
        case "config":
            version = message.get("protocolVersion")
            return Config(_ice_servers(message.get("peerConnectionOptions")),
                          version if isinstance(version, str) else None)
        case "playerCount":
            count = _number(message.get("count"))
            return PlayerCount(max(0, int(count)) if count is not None else 0)
        case "streamerList":
            ids = message.get("ids")
            if not isinstance(ids, list):
                return Unrecognised(kind, "the streamer list is missing")
            return StreamerList(tuple(i for i in ids if isinstance(i, str) and i))
        case "offer":
            sdp = message.get("sdp")
            if not isinstance(sdp, str) or "m=" not in sdp:
                return Unrecognised(kind, "the offer has no session description")
            return Offer(sdp)
        case "iceCandidate":
            return _candidate(message)
        case "ping":
            return Ping(_number(message.get("time")))
        case "pong":
            return Pong(_number(message.get("time")))
        case "streamerDisconnected":
            return StreamerDisconnected()
        case "subscribeFailed":
            return SubscribeFailed(_text(message.get("message")) or "no reason given")
        case "streamerIdChanged":
            new_id = message.get("newID")
            if not isinstance(new_id, str) or not new_id:
                return Unrecognised(kind, "the new streamer id is missing")
            return StreamerIdChanged(new_id)
    return Unrecognised(kind, "a message type a player does not use")


def parse_signal(frame: str | bytes) -> SignalMessage:
    """Read one signalling frame. Never raises: anything unusable is `Unrecognised`."""
    if isinstance(frame, bytes):
        try:
            frame = frame.decode("utf-8")
        except UnicodeDecodeError:
            return Unrecognised(None, "the frame is not UTF-8 text")
    if len(frame) > MAX_FRAME_CHARS:
        return Unrecognised(None, f"the frame is too large ({len(frame)} characters)")
    try:
        message = json.loads(frame)
    except (ValueError, RecursionError):
        return Unrecognised(None, "the frame is not JSON")
    if not isinstance(message, dict):
        return Unrecognised(None, "the frame is not a JSON object")
    return _from_object(message)


# --- outgoing ---------------------------------------------------------------------------------
def _dump(message: dict[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":"))


def list_streamers() -> str:
    return _dump({"type": "listStreamers"})


def subscribe(streamer_id: str) -> str:
    return _dump({"type": "subscribe", "streamerId": streamer_id})


def unsubscribe() -> str:
    return _dump({"type": "unsubscribe"})


def answer(sdp: str) -> str:
    return _dump({"type": "answer", "sdp": sdp})


def ice_candidate(candidate: IceCandidate) -> str:
    body: dict[str, Any] = {"candidate": candidate.candidate}
    if candidate.sdp_mid is not None:
        body["sdpMid"] = candidate.sdp_mid
    if candidate.sdp_mline_index is not None:
        body["sdpMLineIndex"] = candidate.sdp_mline_index
    return _dump({"type": "iceCandidate", "candidate": body})


def ping(time_ms: float) -> str:
    return _dump({"type": "ping", "time": time_ms})


def pong(time: float | None) -> str:
    """The answer to a `ping`: its `time` sent back unchanged."""
    return _dump({"type": "pong", "time": time})


def choose_streamer(ids: tuple[str, ...], previous: str | None) -> str | None:
    """The streamer to subscribe to: the one watched before when it is still listed (a
    reconnect), else the first; None when the list is empty (ask again later)."""
    if previous is not None and previous in ids:
        return previous
    return ids[0] if ids else None

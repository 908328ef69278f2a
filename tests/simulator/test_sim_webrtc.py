"""The stream page's WebRTC stream at the protocol level: signalling on the events feed, a real
aiortc peer on the client side (standing in for the browser; tests/gui has the real browser),
frames at the session size, the avatar's voice on the audio track, the H.264-only switch and the
canvas fallback."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import numpy as np
import pytest
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription

from ravatar_live.simulator.avatar_voice import espeak_path


def events_url(client, lid: str) -> str:
    return client.sim.base_url.replace("http://", "ws://") + \
        f"/stream/{lid}/events?token={client.token}"


def video_codecs(sdp: str) -> set[str]:
    """Codec names in the offer's video section."""
    names: set[str] = set()
    in_video = False
    for line in sdp.splitlines():
        if line.startswith("m="):
            in_video = line.startswith("m=video")
        elif in_video and line.startswith("a=rtpmap:"):
            names.add(line.split()[1].split("/")[0].upper())
    return names


Queues = dict[str, asyncio.Queue]


@contextlib.asynccontextmanager
async def answered(offer_sdp: str) -> AsyncIterator[tuple[RTCPeerConnection, Queues]]:
    """A receiving peer that answered the offer; its tracks' frames land in queues."""
    pc = RTCPeerConnection()
    queues: dict[str, asyncio.Queue] = {"video": asyncio.Queue(), "audio": asyncio.Queue()}
    readers: list[asyncio.Task] = []

    async def read(track: MediaStreamTrack) -> None:
        with contextlib.suppress(Exception):
            while True:
                await queues[track.kind].put(await track.recv())

    pc.on("track", lambda track: readers.append(asyncio.ensure_future(read(track))))
    await pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
    await pc.setLocalDescription(await pc.createAnswer())
    try:
        yield pc, queues
    finally:
        for task in readers:
            task.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
        await pc.close()


async def request_offer(client, feed) -> dict:
    assert (await client.receive_json(feed))["event"] == "ready"
    await feed.send_json({"type": "webrtc-request"})
    return await client.receive_json(feed)


async def test_offer_streams_video_at_the_session_size_and_speaks_replies(make_client) -> None:
    c = await make_client(stream_fps=10.0)
    assert c.sim.webrtc_enabled, c.sim.webrtc_missing_reason()
    _, body = await c.start(width="320", height="180")
    lid = body["LicenseId"]
    async with c.http.ws_connect(events_url(c, lid)) as feed:
        offer = await request_offer(c, feed)
        assert offer["event"] == "webrtc-offer" and offer["codec"] == "VP8"
        assert "VP8" in video_codecs(offer["sdp"]) and "H264" not in video_codecs(offer["sdp"])
        assert "a=candidate:" in offer["sdp"]  # host candidates inline: no trickle, no STUN
        async with answered(offer["sdp"]) as (pc, frames):
            await feed.send_json({"type": "webrtc-answer", "sdp": pc.localDescription.sdp})
            frame = await asyncio.wait_for(frames["video"].get(), timeout=15)
            assert (frame.width, frame.height) == (320, 180)
            peer = c.sim.stream_peers(lid)[0]
            assert peer["state"] == "connected" and peer["size"] == (320, 180)

            # Silence until the avatar has something to say, then its voice.
            quiet = await asyncio.wait_for(frames["audio"].get(), timeout=10)
            assert np.abs(quiet.to_ndarray()).max() < 200
            async with c.ws() as chat:
                await chat.send_json(c.text_message("Tell me a story, please.", lid))
                assert (await c.receive_json(chat))["type"] == "incoming"
                loudest = await loudest_audio(frames["audio"], within_s=10)
            if espeak_path():
                assert loudest > 0.02, "the reply was not spoken on the audio track"
                assert c.sim.stream_peers(lid)[0]["samples_spoken"] > 0
            else:
                pytest.fail("espeak-ng is required for the stream voice test "
                            "(apt-get install espeak-ng)")


async def loudest_audio(queue: asyncio.Queue, within_s: float) -> float:
    """The loudest 20 ms RMS heard within `within_s` (stops early once it is clearly speech)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + within_s
    loudest = 0.0
    while loop.time() < end and loudest < 0.05:
        frame = await asyncio.wait_for(queue.get(), timeout=within_s)
        samples = frame.to_ndarray().astype(np.float32) / 32768.0
        loudest = max(loudest, float(np.sqrt(np.mean(samples ** 2))))
    return loudest


async def test_large_sessions_are_scaled_down_to_the_configured_height(make_client) -> None:
    c = await make_client(stream_max_height=240, stream_fps=5.0)
    _, body = await c.start(width="1280", height="720")
    async with c.http.ws_connect(events_url(c, body["LicenseId"])) as feed:
        offer = await request_offer(c, feed)
        async with answered(offer["sdp"]) as (pc, frames):
            await feed.send_json({"type": "webrtc-answer", "sdp": pc.localDescription.sdp})
            frame = await asyncio.wait_for(frames["video"].get(), timeout=15)
    assert (frame.width, frame.height) == (426, 240)


async def test_h264_switch_offers_h264_only(make_client) -> None:
    c = await make_client(stream_video_codec="H264")
    lid = await c.start_license()
    async with c.http.ws_connect(events_url(c, lid)) as feed:
        offer = await request_offer(c, feed)
    assert offer["codec"] == "H264"
    assert video_codecs(offer["sdp"]) == {"H264", "RTX"}


async def test_canvas_fallback_when_webrtc_is_off(make_client) -> None:
    c = await make_client(stream_webrtc=False)
    assert not c.sim.webrtc_enabled
    _, body = await c.start()
    lid = body["LicenseId"]
    async with c.http.get(body["streamingUrl"] + f"&token={c.token}") as r:
        html = await r.text()
    assert "&quot;webrtc&quot;: false" in html
    async with c.http.ws_connect(events_url(c, lid)) as feed:
        reply = await request_offer(c, feed)
        assert reply["event"] == "webrtc-error" and "off" in reply["reason"]
        # The feed still works for the canvas page.
        async with c.ws() as chat:
            await chat.send_json(c.text_message("Hello", lid))
            assert (await c.receive_json(feed))["event"] == "speaking"
    assert c.sim.stream_peers(lid) == []


async def test_bad_answers_get_an_error_not_a_crash(make_client) -> None:
    c = await make_client()
    lid = await c.start_license()
    async with c.http.ws_connect(events_url(c, lid)) as feed:
        assert (await c.receive_json(feed))["event"] == "ready"
        await feed.send_json({"type": "webrtc-answer", "sdp": "v=0"})  # before any offer
        assert (await c.receive_json(feed))["event"] == "webrtc-error"
        await feed.send_str("not json")  # ignored
        await feed.send_json({"type": "webrtc-request"})
        assert (await c.receive_json(feed))["event"] == "webrtc-offer"
        await feed.send_json({"type": "webrtc-answer", "sdp": "garbage"})
        error = await c.receive_json(feed)
        assert error["event"] == "webrtc-error" and "bad answer" in error["reason"]


async def test_ending_the_license_closes_the_peer(make_client) -> None:
    c = await make_client(stream_fps=5.0)
    lid = await c.start_license()
    async with c.http.ws_connect(events_url(c, lid)) as feed:
        offer = await request_offer(c, feed)
        async with answered(offer["sdp"]) as (pc, frames):
            await feed.send_json({"type": "webrtc-answer", "sdp": pc.localDescription.sdp})
            await asyncio.wait_for(frames["video"].get(), timeout=15)
            await c.post("/endLiveSession", {"LicenseId": lid})
            end = await c.receive_json(feed)
            assert end["event"] == "session-end"
            assert c.sim.stream_peers(lid) == []  # closed with the license, before the socket
            closing = await feed.receive(timeout=5)
            assert closing.type.name in {"CLOSE", "CLOSED"}

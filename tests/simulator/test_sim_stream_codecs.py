"""The streamer's codecs like Unreal's, against an aiortc player that answers like a browser
(tests/gui has the real QtWebEngine): H.264 only by default, VP8 only, or both with the player's
choice streamed; frames decoded from the RTP that arrived, at the session size, showing the
avatar; a rejected video section leaving audio only; the avatar's voice on the audio track."""

from __future__ import annotations

import asyncio
import re

import numpy as np
import pytest

from ravatar_live.simulator.avatar_render import parse_colour
from ravatar_live.simulator.avatar_voice import espeak_path
from ravatar_live.simulator.pixel_streaming.sdp import video_codecs
from tests.simulator.stream_player import answering_player, signalling

REBECCA = parse_colour("#4f8cc9")  # the live avatar's colour in the simulator's catalog


@pytest.mark.parametrize(("setting", "offered"), [
    ("H264", ["H264"]), ("VP8", ["VP8"]), ("negotiate", ["H264", "VP8"])])
async def test_the_offer_lists_the_configured_codecs(make_client, setting: str,
                                                     offered: list[str]) -> None:
    c = await make_client(stream_video_codec=setting)
    lid, origin = await c.start_stream()
    async with signalling(c.http, origin, c.token) as sig:
        offer = await sig.subscribe()
        assert video_codecs(offer["sdp"]) == offered
        assert c.sim.stream_players(lid)[0]["offered"] == offered


def assert_shows_the_avatar(frame) -> None:
    rgb = frame.to_ndarray(format="rgb24")
    height, width, _ = rgb.shape
    head = rgb[int(height * 0.45), width // 2].astype(int)
    assert np.abs(head - REBECCA).max() <= 16, f"the head's centre is {head}, not {REBECCA}"
    assert rgb.mean() > 20, "the frame is black"


@pytest.mark.parametrize(("setting", "prefer", "streamed"), [
    ("H264", None, "H264"), ("VP8", None, "VP8"),
    ("negotiate", "H264", "H264"), ("negotiate", "VP8", "VP8")])
async def test_the_player_decodes_the_codec_it_was_meant_to_get(
        make_client, setting: str, prefer: str | None, streamed: str) -> None:
    c = await make_client(stream_video_codec=setting)
    lid, origin = await c.start_stream(width="640", height="360")
    async with signalling(c.http, origin, c.token) as sig, answering_player(prefer) as player:
        offer = await sig.subscribe()
        answer = await player.answer(offer["sdp"])
        assert video_codecs(answer)[0] == streamed
        await sig.send({"type": "answer", "sdp": answer})
        frames = [await player.next_frame() for _ in range(3)]
        assert player.received_video_codecs() == {streamed}
        [facts] = c.sim.stream_players(lid)
    assert (facts["codec"], facts["rejected"], facts["size"]) == (streamed, [], (640, 360))
    assert all((f.width, f.height) == (640, 360) for f in frames)
    assert_shows_the_avatar(frames[-1])


async def test_large_sessions_are_scaled_down_to_the_configured_height(make_client) -> None:
    c = await make_client(stream_max_height=240, stream_fps=5.0, stream_video_codec="VP8")
    _lid, origin = await c.start_stream(width="1280", height="720")
    async with signalling(c.http, origin, c.token) as sig, answering_player() as player:
        offer = await sig.subscribe()
        await sig.send({"type": "answer", "sdp": await player.answer(offer["sdp"])})
        frame = await player.next_frame()
    assert (frame.width, frame.height) == (426, 240)


def reject_video(answer: str) -> str:
    """The answer a browser without any offered video codec gives: the video section on port 0
    (QtWebEngine does this with an H.264-only offer)."""
    return re.sub(r"^m=video \d+ ", "m=video 0 ", answer, flags=re.MULTILINE)


async def test_a_rejected_video_section_leaves_audio_only(make_client) -> None:
    c = await make_client()  # H.264 only, Unreal's default
    lid, origin = await c.start_stream()
    async with signalling(c.http, origin, c.token) as sig, answering_player() as player:
        offer = await sig.subscribe()
        await sig.send({"type": "answer", "sdp": reject_video(await player.answer(offer["sdp"]))})
        await player.next_frame("audio")  # the audio flows
        players = await c.sim.wait_for_stream(lid, lambda ps: ps[0]["state"] == "connected")
    assert (players[0]["codec"], players[0]["rejected"]) == (None, ["video"])
    assert player.video_payload_types == set()


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


async def test_the_avatar_speaks_its_replies_on_the_audio_track(make_client) -> None:
    assert espeak_path(), "espeak-ng is required (apt-get install espeak-ng)"
    c = await make_client(stream_fps=10.0, stream_video_codec="VP8")
    lid, origin = await c.start_stream(width="320", height="180")
    async with signalling(c.http, origin, c.token) as sig, answering_player() as player:
        offer = await sig.subscribe()
        await sig.send({"type": "answer", "sdp": await player.answer(offer["sdp"])})
        await player.next_frame()
        quiet = await player.next_frame("audio")  # silence until the avatar has something to say
        assert np.abs(quiet.to_ndarray()).max() < 200
        async with c.ws() as chat:
            await chat.send_json(c.text_message("Tell me a story, please.", lid))
            assert (await c.receive_json(chat))["type"] == "incoming"
            assert await loudest_audio(player.frames["audio"], within_s=10) > 0.02
        players = c.sim.stream_players(lid)
    assert players[0]["samples_spoken"] > 0 and players[0]["replies_spoken"] == 1

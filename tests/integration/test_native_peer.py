"""The native player's receiving peer against a real aiortc offerer that offers what Unreal's
streamer offers (video send-only, Opus send-receive, a data channel). No signalling: the SDP is
handed over in process. Frames are decoded by libavcodec/libvpx and checked for the pattern's
colours."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import av
import pytest

from ravatar_live.api.pixel_streaming import IceCandidate
from ravatar_live.stream.peer import OfferError, ReceivingPeer
from tests.support.streamer import ORANGE, TEAL, TestStreamer, colour_close

WAIT_S = 30.0


class Received:
    def __init__(self) -> None:
        self.video: list[av.VideoFrame] = []
        self.audio: list[av.AudioFrame] = []
        self.enough = asyncio.Event()

    def on_video(self, frame: av.VideoFrame) -> None:
        self.video.append(frame)
        if len(self.video) >= 10 and len(self.audio) >= 10:
            self.enough.set()

    def on_audio(self, frame: av.AudioFrame) -> None:
        self.audio.append(frame)
        if len(self.video) >= 10 and len(self.audio) >= 10:
            self.enough.set()


@pytest.fixture
async def closing() -> AsyncIterator[list[TestStreamer | ReceivingPeer]]:
    made: list[TestStreamer | ReceivingPeer] = []
    yield made
    for item in made:
        await item.close()


def section(sdp: str, kind: str) -> str:
    match = re.search(rf"(m={kind} .*?)(?=\r\nm=|\Z)", sdp, re.S)
    assert match, f"no {kind} section"
    return match.group(1)


def assert_pattern(frame: av.VideoFrame) -> None:
    picture = frame.to_ndarray(format="rgb24")
    height, width, _ = picture.shape
    row = height // 2 + 40 if height // 2 + 40 < height else height // 2
    left, right = tuple(picture[row, width // 8]), tuple(picture[row, width * 7 // 8])
    assert colour_close(left, TEAL), f"left of the picture is {left}, not teal"
    assert colour_close(right, ORANGE), f"right of the picture is {right}, not orange"


@pytest.mark.parametrize(("offered", "preference", "expected"), [
    ("H264", ("H264", "VP8"), "H264"),
    ("VP8", ("H264", "VP8"), "VP8"),
    ("both", ("H264", "VP8"), "H264"),
    ("both", ("VP8", "H264"), "VP8"),
])
async def test_the_peer_answers_and_decodes(offered: str, preference: tuple[str, ...],
                                            expected: str, closing: list) -> None:
    streamer = TestStreamer(offered, width=640, height=360)
    got = Received()
    peer = ReceivingPeer([], got.on_video, got.on_audio, preference)
    closing.extend([streamer, peer])
    answer = await peer.accept_offer(await streamer.offer())
    await streamer.accept_answer(answer)
    await asyncio.wait_for(got.enough.wait(), WAIT_S)

    assert peer.video_codec == expected and streamer.sending_codec == expected
    assert peer.audio_codec == "OPUS"
    assert set(peer.offered_video) == ({"H264", "VP8"} if offered == "both" else {offered})
    # Video and audio are received only (the microphone comes later on the audio section).
    assert "a=recvonly" in section(answer, "video")
    assert "a=recvonly" in section(answer, "audio")
    assert "m=application" in answer  # the data channel is accepted
    first_video_codec = re.search(r"a=rtpmap:\d+ (\w+)/90000", section(answer, "video"))
    assert first_video_codec and first_video_codec.group(1).upper() == expected
    frame = got.video[-1]
    assert (frame.width, frame.height) == (640, 360)
    assert_pattern(frame)
    audio = got.audio[-1]
    assert audio.sample_rate == 48000 and audio.format.name == "s16"


async def test_trickled_candidates_connect_an_offer_without_any(closing: list) -> None:
    """Unreal trickles its candidates after the offer: move them out of the SDP into
    add_remote_candidate() calls."""
    streamer = TestStreamer("H264")
    got = Received()
    peer = ReceivingPeer([], got.on_video, got.on_audio)
    closing.extend([streamer, peer])
    offer = await streamer.offer()
    candidates = re.findall(r"a=(candidate:[^\r\n]+)", section(offer, "video"))
    assert candidates
    bare_offer = re.sub(r"a=(candidate:[^\r\n]+|end-of-candidates)\r\n", "", offer)
    assert "candidate:" not in bare_offer
    answer = await peer.accept_offer(bare_offer)
    await streamer.accept_answer(answer)
    await peer.add_remote_candidate(IceCandidate("garbage", "0", 0))  # skipped, not fatal
    for text in candidates:
        await peer.add_remote_candidate(IceCandidate(text, "0", 0))
    await asyncio.wait_for(got.enough.wait(), WAIT_S)
    assert_pattern(got.video[-1])
    # Our own candidates are there for trickling, in the browser's form.
    local = peer.local_candidates()
    assert local and all(c.candidate.startswith("candidate:") and c.sdp_mline_index == 0
                         for c in local)


async def test_an_offer_without_a_decodable_video_codec_says_so(closing: list) -> None:
    streamer = TestStreamer("VP8")
    peer = ReceivingPeer([], lambda _f: None, lambda _f: None)
    closing.extend([streamer, peer])
    offer = (await streamer.offer()).replace("VP8/90000", "AV1/90000")
    with pytest.raises(OfferError) as caught:
        await peer.accept_offer(offer)
    assert caught.value.codec_problem
    assert "AV1" in caught.value.user_message and "H.264" in caught.value.user_message


async def test_a_malformed_offer_is_an_offer_error_not_a_crash(closing: list) -> None:
    peer = ReceivingPeer([], lambda _f: None, lambda _f: None)
    closing.append(peer)
    with pytest.raises(OfferError) as caught:
        await peer.accept_offer("v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n")
    assert not caught.value.codec_problem

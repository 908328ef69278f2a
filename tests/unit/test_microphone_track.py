"""The native player's microphone track: silence while closed, the pushed audio while open,
bounded buffering, real-time pacing, and frames aiortc's Opus encoder takes."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest
from aiortc.codecs import get_encoder
from aiortc.rtcrtpparameters import RTCRtpCodecParameters

from ravatar_live.stream.microphone_track import (
    FRAME_SAMPLES,
    MAX_BUFFER_S,
    PREBUFFER_S,
    SAMPLE_RATE,
    MicrophoneFeed,
    MicrophoneTrack,
)


def ramp(count: int, start: int = 1) -> np.ndarray:
    return (np.arange(start, start + count) % 30000).astype(np.int16)


def test_closed_sends_silence_and_keeps_nothing() -> None:
    feed = MicrophoneFeed()
    feed.push(ramp(SAMPLE_RATE))
    assert not feed.next_frame().any()
    feed.set_open(True)
    assert not feed.next_frame().any(), "audio from before the unmute never goes out"
    assert feed.audio_frames_sent == 0


def test_open_sends_the_pushed_audio_in_order_after_the_prebuffer() -> None:
    feed = MicrophoneFeed()
    feed.set_open(True)
    audio = ramp(FRAME_SAMPLES * 10)
    feed.push(audio[: FRAME_SAMPLES * 2])
    assert not feed.next_frame().any(), "less than the prebuffer: still silence"
    feed.push(audio[FRAME_SAMPLES * 2:])
    sent = [feed.next_frame() for _ in range(10)]
    assert np.array_equal(np.concatenate(sent), audio)
    assert feed.audio_frames_sent == 10 and feed.underruns == 0


def test_an_underrun_sends_silence_and_buffers_more_before_playing_again() -> None:
    feed = MicrophoneFeed()
    feed.set_open(True)
    feed.push(ramp(round(PREBUFFER_S * SAMPLE_RATE)))
    while feed.next_frame().any():
        pass
    assert feed.underruns == 1
    feed.push(ramp(round(PREBUFFER_S * SAMPLE_RATE)))
    assert not feed.next_frame().any(), "one prebuffer is not enough after an underrun"
    feed.push(ramp(round(PREBUFFER_S * SAMPLE_RATE)))
    assert feed.next_frame().any()


def test_a_backlog_is_capped_oldest_first() -> None:
    feed = MicrophoneFeed()
    feed.set_open(True)
    total = round(2 * MAX_BUFFER_S * SAMPLE_RATE)
    for start in range(0, total, 160):
        feed.push(ramp(160, start + 1))
    kept = round(MAX_BUFFER_S * SAMPLE_RATE)
    assert feed.dropped_samples == total - kept
    assert feed.drops == (total - kept) // 160  # every push past the cap cut the oldest
    first = feed.next_frame()
    assert np.array_equal(first, ramp(FRAME_SAMPLES, total - kept + 1))


def test_closing_drops_what_was_waiting() -> None:
    feed = MicrophoneFeed()
    feed.set_open(True)
    feed.push(ramp(SAMPLE_RATE // 2))
    feed.set_open(False)
    feed.set_open(True)
    assert not feed.next_frame().any()


async def test_the_track_is_paced_in_real_time_and_encodes_as_opus() -> None:
    feed = MicrophoneFeed()
    feed.set_open(True)
    feed.push(ramp(SAMPLE_RATE))
    track = MicrophoneTrack(feed)
    encoder = get_encoder(RTCRtpCodecParameters(mimeType="audio/opus", clockRate=48000,
                                                channels=2))
    started = time.monotonic()
    frames = [await track.recv() for _ in range(26)]
    elapsed = time.monotonic() - started
    # 25 frame periods after the first: at least 0.5 s, not as fast as the loop can go (only
    # the lower bound: a busy machine may be late, never early).
    assert elapsed >= 0.5 - 0.005
    assert [f.pts for f in frames[:3]] == [0, FRAME_SAMPLES, 2 * FRAME_SAMPLES]
    assert (frames[0].sample_rate, frames[0].samples, frames[0].layout.name) == (
        SAMPLE_RATE, FRAME_SAMPLES, "mono")
    packets = [packet for frame in frames for packet in encoder.encode(frame)[0]]
    assert len(packets) >= 20 and all(len(packet) > 0 for packet in packets)
    track.stop()
    with pytest.raises(Exception):  # noqa: B017 - aiortc's MediaStreamError, any ended track
        await asyncio.wait_for(track.recv(), 1.0)

"""The native player's Qt-free parts: the frame mailbox, the playback buffer, volume/mute/taps,
voice onsets, stream page URLs and the stats collector."""

from __future__ import annotations

import fractions
import threading
from types import SimpleNamespace

import av
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ravatar_live.stream.access import signalling_url, token_of
from ravatar_live.stream.audio_output import CHANNELS, RATE
from ravatar_live.stream.audio_playback import (
    AudioPlayback,
    PlaybackBuffer,
    PlayedBlock,
)
from ravatar_live.stream.errors import StreamAccessError
from ravatar_live.stream.frame_mailbox import LatestMailbox
from ravatar_live.stream.stats_collector import StatsCollector
from ravatar_live.stream.voice_onset import VoiceOnsetDetector, rms_level
from tests.support.clock import ManualClock


# --- mailbox ------------------------------------------------------------------------------------
def test_mailbox_keeps_the_newest_and_notifies_once_per_take() -> None:
    box: LatestMailbox[int] = LatestMailbox()
    assert box.take() is None
    assert box.put(1) is True
    assert box.put(2) is False  # a notification is already on its way
    assert box.put(3) is False
    assert box.dropped == 2
    assert box.take() == 3
    assert box.take() is None
    assert box.put(4) is True  # taken: the next item notifies again
    assert box.delivered == 1


def test_mailbox_across_threads_loses_nothing_but_drops() -> None:
    box: LatestMailbox[int] = LatestMailbox()
    taken: list[int] = []
    notifications = 0

    def writer() -> None:
        nonlocal notifications
        for i in range(1, 20001):
            if box.put(i):
                notifications += 1

    thread = threading.Thread(target=writer)
    thread.start()
    while thread.is_alive() or box.delivered + box.dropped < 20000:
        item = box.take()
        if item is not None:
            taken.append(item)
    thread.join()
    assert taken == sorted(taken) and taken[-1] == 20000  # newest always arrives, in order
    assert len(taken) + box.dropped == 20000
    assert notifications <= len(taken) + 1


# --- playback buffer ----------------------------------------------------------------------------
def block(frames: int, value: int) -> np.ndarray:
    return np.full((frames, CHANNELS), value, np.int16)


def test_buffer_waits_for_the_prefill_then_plays_in_order() -> None:
    buffer = PlaybackBuffer(prefill_frames=960, max_frames=9600)
    buffer.write(block(480, 1))
    assert not buffer.read(480).any()  # not enough yet: silence, nothing consumed
    buffer.write(block(480, 2))
    out = buffer.read(720)
    assert (out[:480] == 1).all() and (out[480:] == 2).all()
    assert buffer.queued_frames == 240


def test_buffer_underrun_pads_silence_and_primes_again() -> None:
    buffer = PlaybackBuffer(prefill_frames=100, max_frames=1000)
    buffer.write(block(150, 7))
    out = buffer.read(200)
    assert (out[:150] == 7).all() and not out[150:].any()
    assert buffer.underruns == 1
    buffer.write(block(50, 8))
    assert not buffer.read(10).any()  # priming again: below the prefill


def test_buffer_caps_latency_by_skipping_the_oldest() -> None:
    skipped: list[np.ndarray] = []
    buffer = PlaybackBuffer(prefill_frames=10, max_frames=100, on_skip=skipped.append)
    for value in range(1, 6):
        buffer.write(block(40, value))
    assert buffer.queued_frames == 100
    assert buffer.dropped_frames == 100 == sum(len(b) for b in skipped)
    out = buffer.read(40)
    assert (out[:20] == 3).all() and (out[20:] == 4).all()  # the newest audio, in order
    assert np.concatenate(skipped)[:, 0].tolist() == [1] * 40 + [2] * 40 + [3] * 20


def test_buffer_brings_a_lasting_backlog_down_to_the_prefill() -> None:
    """After a device stall the queue stays long though reads and writes keep pace: the
    surplus is skipped once the lowest level over a window stayed above prefill + slack."""
    skipped: list[np.ndarray] = []
    buffer = PlaybackBuffer(prefill_frames=100, max_frames=10_000, on_skip=skipped.append,
                            adjust_frames=1000, slack_frames=50)
    buffer.write(block(800, 1))  # the backlog a stall left
    for _ in range(10):  # then steady: one block in, one block out
        buffer.write(block(100, 2))
        buffer.read(100)
    assert buffer.queued_frames == 100
    assert buffer.dropped_frames == 700 == sum(len(b) for b in skipped)
    # A queue that only briefly runs long (jitter) is left alone.
    calm = PlaybackBuffer(prefill_frames=100, max_frames=10_000, adjust_frames=1000,
                          slack_frames=50)
    calm.write(block(100, 1))
    for i in range(10):
        calm.write(block(300 if i == 3 else 100, 2))
        calm.read(100 if i != 4 else 300)
    assert calm.dropped_frames == 0


def test_skipped_audio_still_counts_for_the_onset() -> None:
    onsets: list[int] = []
    playback = AudioPlayback(lambda: onsets.append(1), prefill_s=0.02, max_buffer_s=0.1)
    for _ in range(25):  # 500 ms of silence arrive while the device is stalled
        playback.push(stereo_frame(np.zeros(960, np.int16)))
    assert playback.buffer.dropped_frames > 0
    playback.push(stereo_frame(tone(960, 0.25)))
    for _ in range(8):  # the device comes back
        playback.render(960, 0.0)
    assert onsets == [1]


def stereo_frame(samples: np.ndarray) -> av.AudioFrame:
    frame = av.AudioFrame.from_ndarray(np.repeat(samples[:, None], 2, axis=1).reshape(1, -1),
                                       format="s16", layout="stereo")
    frame.sample_rate = RATE
    frame.pts = 0
    frame.time_base = fractions.Fraction(1, RATE)
    return frame


def tone(frames: int, amplitude: float) -> np.ndarray:
    t = np.arange(frames) / RATE
    return (amplitude * 32767 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)


def test_render_applies_volume_and_mute_and_taps_see_what_is_played() -> None:
    onsets: list[int] = []
    playback = AudioPlayback(lambda: onsets.append(1), prefill_s=0.0)
    played: list[PlayedBlock] = []
    playback.add_tap(played.append)
    samples = tone(960, 0.5)
    playback.push(stereo_frame(samples))
    full = np.frombuffer(playback.render(960, 10.0), np.int16).reshape(-1, 2)
    np.testing.assert_array_equal(full[:, 0], samples)
    playback.set_volume(0.25)
    playback.push(stereo_frame(samples))
    quarter = np.frombuffer(playback.render(960, 10.02), np.int16).reshape(-1, 2)
    assert np.abs(quarter[:, 0].astype(int) - (samples * 0.25).astype(int)).max() <= 1
    playback.set_muted(True)
    playback.push(stereo_frame(samples))
    assert not np.frombuffer(playback.render(960, 10.04), np.int16).any()
    # The tap got exactly the played blocks, with their play times.
    assert [b.played_at for b in played] == [10.0, 10.02, 10.04]
    np.testing.assert_array_equal(played[1].samples, quarter)
    assert not played[2].samples.any()
    # Levels are the stream's, before volume and mute: muting does not hide the voice.
    assert playback.level is not None and playback.level > 0.3


def test_volume_is_clamped_and_nan_refused() -> None:
    playback = AudioPlayback(lambda: None)
    playback.set_volume(3.0)
    assert playback.volume == 1.0
    playback.set_volume(-1)
    assert playback.volume == 0.0
    with pytest.raises(ValueError, match="volume"):
        playback.set_volume(float("nan"))


def test_a_broken_tap_is_removed_and_playback_goes_on() -> None:
    playback = AudioPlayback(lambda: None, prefill_s=0.0)

    def broken(_block: PlayedBlock) -> None:
        raise RuntimeError("boom")

    playback.add_tap(broken)
    playback.push(stereo_frame(tone(960, 0.1)))
    assert len(playback.render(960, 0.0)) == 960 * 4
    assert playback.render(960, 0.0)  # no second failure: the tap is gone


def test_onset_comes_from_rendered_audio_after_quiet() -> None:
    onsets: list[int] = []
    playback = AudioPlayback(lambda: onsets.append(1), prefill_s=0.0)
    for _ in range(20):  # 400 ms of silence
        playback.push(stereo_frame(np.zeros(960, np.int16)))
        playback.render(960, 0.0)
    assert onsets == []
    playback.push(stereo_frame(tone(960, 0.25)))  # -12 dBFS
    playback.render(960, 0.0)
    assert onsets == [1]
    playback.push(stereo_frame(tone(960, 0.25)))
    playback.render(960, 0.0)
    assert onsets == [1]  # still speaking: not a new onset


def test_other_audio_formats_are_resampled() -> None:
    playback = AudioPlayback(lambda: None)
    mono = av.AudioFrame.from_ndarray(tone(441, 0.5).reshape(1, -1), format="s16",
                                      layout="mono")
    mono.sample_rate = 44100
    mono.pts = 0
    mono.time_base = fractions.Fraction(1, 44100)
    out = playback.samples_of(mono)
    assert out.shape[1] == 2 and out.dtype == np.int16


# --- onset detector -----------------------------------------------------------------------------
def test_onset_needs_300_ms_of_quiet_before_it() -> None:
    detector = VoiceOnsetDetector()
    loud, quiet = 0.1, 0.001
    assert not detector.feed(loud, 0.02)  # loud from the start: no quiet before it
    assert not any(detector.feed(quiet, 0.02) for _ in range(10))  # 200 ms quiet
    assert not detector.feed(loud, 0.02)  # too little quiet
    assert not any(detector.feed(quiet, 0.02) for _ in range(15))  # 300 ms quiet
    assert detector.feed(loud, 0.02)
    assert detector.onsets == 1


def test_the_threshold_is_about_minus_30_dbfs() -> None:
    detector = VoiceOnsetDetector()
    detector.feed(0.0, 0.5)
    assert not detector.feed(10 ** (-32 / 20), 0.02)
    detector.feed(0.0, 0.5)
    assert detector.feed(10 ** (-28 / 20), 0.02)


@settings(max_examples=200)
@given(st.lists(st.tuples(st.floats(0, 1), st.floats(0.001, 0.2)), max_size=60))
def test_onsets_are_never_closer_than_the_quiet_time(blocks: list[tuple[float, float]]) -> None:
    detector = VoiceOnsetDetector()
    quiet_before = 0.0
    for level, duration in blocks:
        onset = detector.feed(level, duration)
        if onset:
            assert quiet_before >= detector.quiet_s - 1e-9
        quiet_before = quiet_before + duration if level < detector.threshold else 0.0


def test_rms_level() -> None:
    assert rms_level(np.zeros(10, np.int16)) == 0.0
    assert rms_level(np.full(10, 16384, np.int16)) == pytest.approx(0.5)
    assert rms_level(np.zeros(0, np.int16)) == 0.0
    with pytest.raises(ValueError, match="threshold"):
        VoiceOnsetDetector(threshold_dbfs=3)


# --- stream page URLs ---------------------------------------------------------------------------
def test_signalling_url_follows_the_page_origin_and_token() -> None:
    assert signalling_url("http://127.0.0.1:4000/?token=a.b.c") == \
        "ws://127.0.0.1:4000/?token=a.b.c"
    assert signalling_url("https://ps.example/player/index.html?x=1&token=t%2By#frag") == \
        "wss://ps.example/?token=t%2By"
    assert signalling_url("https://ps.example") == "wss://ps.example/"
    assert token_of("https://ps.example/?token=t%2By") == "t+y"
    assert token_of("https://ps.example/?other=1") is None
    for bad in ("ftp://host/", "not a url", "http://"):
        with pytest.raises(StreamAccessError):
            signalling_url(bad)


# --- stats --------------------------------------------------------------------------------------
def test_stats_collector_turns_counters_into_rates() -> None:
    clock = ManualClock()
    collector = StatsCollector(clock)
    for _ in range(30):
        collector.count_frame(1280, 720)
    collector.rtt_ms = 12.5
    transport = SimpleNamespace(type="transport", bytesReceived=10_000)
    video = SimpleNamespace(type="inbound-rtp", kind="video", packetsLost=3, jitter=900)
    audio = SimpleNamespace(type="inbound-rtp", kind="audio", packetsLost=1, jitter=48)
    clock.now = 1.0
    first = collector.snapshot(state="connected", video_codec="H264", audio_codec="OPUS",
                               offered_video=("H264", "VP8"), rtc_stats=[transport, video, audio],
                               dropped=2, audio_level=0.1)
    assert first.fps == pytest.approx(30)
    assert first.bitrate_kbps is None  # no baseline yet
    assert (first.width, first.height) == (1280, 720)
    assert first.packets_lost == 4 and first.jitter_ms == pytest.approx(10)
    assert first.rtt_ms == 12.5 and first.rtt_source == "signalling"
    assert first.frames_decoded == 30 and first.frames_dropped == 2 and first.has_video
    clock.now = 3.0
    transport.bytesReceived = 260_000
    second = collector.snapshot(state="connected", video_codec="H264", audio_codec="OPUS",
                                offered_video=(), rtc_stats=[transport], dropped=2,
                                audio_level=None)
    assert second.bitrate_kbps == pytest.approx(1000)
    assert second.fps == 0
    collector.new_connection()  # a new peer's counters start at zero: no negative bitrate
    transport.bytesReceived = 1000
    clock.now = 4.0
    third = collector.snapshot(state="connecting", video_codec=None, audio_codec=None,
                               offered_video=(), rtc_stats=[transport], dropped=0,
                               audio_level=None)
    assert third.bitrate_kbps is None

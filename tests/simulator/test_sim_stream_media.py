"""The parts of the stream that need no network: the avatar renderer, its performance (mode,
voice, mouth, barge-in), espeak-ng speech, SDP reading and the rejected-section rewrite, config and
CLI."""

from __future__ import annotations

import numpy as np
import pytest

from ravatar_live.simulator.avatar_media import AvatarPerformance
from ravatar_live.simulator.avatar_render import (
    BACKGROUND_BOTTOM,
    SHOULDERS,
    AvatarRenderer,
    blink_at,
    fit_size,
    parse_colour,
)
from ravatar_live.simulator.avatar_voice import RATE, espeak_path, speakable, synthesize
from ravatar_live.simulator.cli import build_parser, config_from_args
from ravatar_live.simulator.config import SimulatorConfig
from ravatar_live.simulator.pixel_streaming.microphone import (
    MAX_UTTERANCE_S,
    PRE_ROLL_S,
    UtteranceCutter,
)
from ravatar_live.simulator.pixel_streaming.sdp import (
    accept_rejected_sections,
    rejected_kinds,
    video_codecs,
)


def test_renderer_draws_the_head_in_the_avatar_colour_and_moves_the_mouth() -> None:
    r = AvatarRenderer(320, 180, "#4f8cc9")
    idle = r.render(0.5, "idle").copy()
    assert idle.shape == (180, 320, 3) and idle.dtype == np.uint8
    assert tuple(idle[81, 160]) == parse_colour("#4f8cc9")  # the head's centre
    speaking = r.render(0.5, "speaking", mouth_open=1.0).copy()
    mouth = (slice(95, 110), slice(140, 180))
    assert np.abs(speaking[mouth].astype(int) - idle[mouth]).sum() > 1000
    listening = r.render(0.5, "listening").copy()
    assert not np.array_equal(listening, idle)  # the rings
    ended = r.render(0.5, "ended")
    assert ended.mean() < idle.mean()


def test_renderer_draws_shoulders_and_cheeks_where_they_belong() -> None:
    r = AvatarRenderer(320, 180, "#4f8cc9")  # head at (160, 81), radius 48.6; shoulders' at y 166
    idle = r.render(0.5, "idle")
    assert tuple(idle[160, 100]) == SHOULDERS  # the shoulders' upper half, off the head
    below = idle[170, 160].astype(int)  # under the shoulders' centre line: background only
    assert abs(below - np.array(BACKGROUND_BOTTOM)).max() <= 2
    cheek, head = idle[91, 133].astype(int), np.array(parse_colour("#4f8cc9"))
    assert cheek[0] > head[0] + 20 and cheek[2] < head[2]  # tinted pink over the head


def test_renderers_of_one_size_and_colour_share_one_still_picture() -> None:
    first, second = AvatarRenderer(320, 180, "#123456"), AvatarRenderer(320, 180, "#123456")
    assert first._base is second._base  # drawn once, not per connecting player
    assert AvatarRenderer(320, 180, "#654321")._base is not first._base
    with pytest.raises(ValueError, match="read-only"):
        first._base[0, 0] = 0
    still = first._base.copy()
    first.render(1.0, "speaking", mouth_open=1.0)
    first.render(1.0, "listening")
    assert np.array_equal(second._base, still)  # frames are drawn on each renderer's copy


@pytest.mark.parametrize(("size", "limit", "expected"), [
    ((640, 360), 720, (640, 360)),
    ((1280, 720), 360, (640, 360)),
    ((1920, 1080), 720, (1280, 720)),
    ((801, 451), 720, (800, 450)),  # 4:2:0 needs even sizes
    ((1, 1), 720, (16, 16)),
])
def test_fit_size(size: tuple[int, int], limit: int, expected: tuple[int, int]) -> None:
    assert fit_size(*size, limit) == expected


def test_renderer_refuses_odd_sizes_and_odd_colours_fall_back() -> None:
    with pytest.raises(ValueError, match="even"):
        AvatarRenderer(321, 180, "#fff")
    assert parse_colour("not a colour") == parse_colour("#4f8cc9")


def test_blinks_are_short_and_regular() -> None:
    samples = [blink_at(t / 100) for t in range(0, 3700 * 3)]
    assert 0 < sum(samples) / len(samples) < 0.08


def test_performance_plays_speech_then_goes_idle() -> None:
    perf = AvatarPerformance()
    assert not perf.next_audio(960).any()
    tone = (np.sin(np.arange(RATE // 10) / 8) * 8000).astype(np.int16)  # 0.1 s
    perf.on_event({"event": "thinking"})
    assert perf.current_mode() == "thinking"
    perf.speak(tone, duration_s=5.0)
    assert perf.current_mode() == "speaking"
    first = perf.next_audio(960)
    assert np.array_equal(first, tone[:960])
    assert perf.mouth_open(0.0) > 0.2
    while perf.current_mode() == "speaking":
        perf.next_audio(960)
    assert perf.current_mode() == "idle"
    assert perf.samples_spoken == len(tone)
    assert perf.mouth_open(0.0) == 0.0


def test_a_new_turn_cuts_the_avatar_off_and_a_new_reply_replaces_the_old() -> None:
    perf = AvatarPerformance()
    tone = (np.sin(np.arange(RATE) / 8) * 8000).astype(np.int16)  # 1 s
    perf.speak(tone, duration_s=1.0)
    perf.next_audio(960)
    perf.on_event({"event": "listening"})  # the user starts talking: barge-in
    assert perf.current_mode() == "listening"
    assert not perf.next_audio(960).any() and perf.mouth_open(0.0) == 0.0
    perf.speak(tone, duration_s=1.0)
    perf.speak(tone[:960], duration_s=1.0)  # a newer reply replaces one still playing
    assert (perf.replies_spoken, perf.replies_interrupted) == (3, 2)
    perf.next_audio(960)
    perf.on_event({"event": "thinking"})  # finished already: nothing is cut off
    assert perf.replies_interrupted == 2


def test_performance_without_a_voice_speaks_by_the_clock() -> None:
    now = [10.0]
    perf = AvatarPerformance(clock=lambda: now[0])
    perf.speak(None, duration_s=2.0)
    assert perf.current_mode() == "speaking" and perf.mouth_open(1.0) > 0
    now[0] += 2.5
    assert perf.current_mode() == "idle"
    perf.on_event({"event": "session-end"})
    perf.speak(None, 1.0)
    assert perf.current_mode() == "ended"


def test_speakable_drops_the_users_quote() -> None:
    assert speakable(">what is up\n\nNot much,   really.") == "Not much, really."
    assert len(speakable("word " * 500)) == 600


async def test_espeak_speaks_at_the_track_rate() -> None:
    assert espeak_path(), "espeak-ng is required (apt-get install espeak-ng)"
    samples = await synthesize("Hello, I am the simulator.")
    assert samples is not None and samples.dtype == np.int16
    assert 0.8 < len(samples) / RATE < 4
    assert np.abs(samples).max() > 3000
    assert await synthesize(">only a quote\n\n") is None


# Shaped like QtWebEngine's answer to an H.264-only offer (captured, ICE values shortened).
OFFER = """v=0\r
o=- 1 1 IN IP4 0.0.0.0\r
s=-\r
t=0 0\r
a=group:BUNDLE 0 1\r
m=video 9 UDP/TLS/RTP/SAVPF 97 98\r
c=IN IP4 0.0.0.0\r
a=sendonly\r
a=mid:0\r
a=rtpmap:97 H264/90000\r
a=fmtp:97 packetization-mode=1\r
a=rtpmap:98 rtx/90000\r
a=ice-ufrag:vvvv\r
a=ice-pwd:vvvvvvvvvvvvvvvvvvvvvv\r
m=audio 9 UDP/TLS/RTP/SAVPF 96\r
c=IN IP4 0.0.0.0\r
a=sendonly\r
a=mid:1\r
a=rtpmap:96 opus/48000/2\r
a=ice-ufrag:aaaa\r
a=ice-pwd:aaaaaaaaaaaaaaaaaaaaaa\r
"""
ANSWER = """v=0\r
o=- 2 2 IN IP4 127.0.0.1\r
s=-\r
t=0 0\r
a=group:BUNDLE 1\r
m=video 0 UDP/TLS/RTP/SAVPF 0\r
c=IN IP4 0.0.0.0\r
a=ice-ufrag:kMCJ\r
a=ice-pwd:VW/kymVvkGq+JsELRu5Nd3Nt\r
a=fingerprint:sha-256 AA:BB\r
a=setup:active\r
a=mid:0\r
a=recvonly\r
a=rtcp-mux\r
m=audio 9 UDP/TLS/RTP/SAVPF 96\r
c=IN IP4 0.0.0.0\r
a=ice-ufrag:6yvv\r
a=ice-pwd:ewrH+kiMnFz6EUiRTxw2duRo\r
a=fingerprint:sha-256 CC:DD\r
a=setup:active\r
a=mid:1\r
a=recvonly\r
a=rtcp-mux\r
a=rtpmap:96 opus/48000/2\r
"""


def test_video_codecs_are_read_in_the_m_lines_order() -> None:
    assert video_codecs(OFFER) == ["H264"]
    reordered = OFFER.replace("SAVPF 97 98", "SAVPF 99 97 98").replace(
        "a=rtpmap:98 rtx/90000", "a=rtpmap:98 rtx/90000\r\na=rtpmap:99 VP8/90000")
    assert video_codecs(reordered) == ["VP8", "H264"]
    assert video_codecs(ANSWER) == []  # rejected


def test_a_rejected_video_section_becomes_inactive_on_the_bundle() -> None:
    assert rejected_kinds(ANSWER) == ["video"]
    fixed = accept_rejected_sections(ANSWER, OFFER)
    assert rejected_kinds(fixed) == []
    video = fixed.split("m=audio")[0]
    assert "m=video 9 UDP/TLS/RTP/SAVPF 97 98" in video
    assert "a=inactive" in video and "a=recvonly" not in video
    assert "a=rtpmap:97 H264/90000" in video
    # It rides on the live transport: the audio section's ICE credentials and fingerprint.
    assert "a=ice-ufrag:6yvv" in video and "kMCJ" not in video
    assert "a=fingerprint:sha-256 CC:DD" in video
    assert "a=group:BUNDLE 1 0" in fixed
    assert accept_rejected_sections(fixed, OFFER) == fixed  # nothing left to fix


def test_stream_config_is_validated() -> None:
    with pytest.raises(ValueError, match="stream_video_codec"):
        SimulatorConfig(stream_video_codec="MPEG2")
    with pytest.raises(ValueError, match="stream_ping_interval_s"):
        SimulatorConfig(stream_ping_interval_s=0)
    with pytest.raises(ValueError, match="stream_fps"):
        SimulatorConfig(stream_fps=0.5)
    with pytest.raises(ValueError, match="stream_max_height"):
        SimulatorConfig(stream_max_height=4000)


def test_cli_stream_flags() -> None:
    args = build_parser().parse_args(["--no-webrtc", "--video-codec", "negotiate",
                                      "--stream-fps", "10", "--stream-max-height", "360",
                                      "--no-stream-voice", "--stream-ping", "2.5",
                                      "--old-stream-page"])
    cfg = config_from_args(args)
    assert (cfg.stream_webrtc, cfg.stream_video_codec, cfg.stream_fps, cfg.stream_max_height,
            cfg.stream_voice, cfg.stream_ping_interval_s, cfg.page_mic_handshake) == (
        False, "negotiate", 10.0, 360, False, 2.5, False)
    defaults = config_from_args(build_parser().parse_args([]))
    # Like Unreal's streamer: H.264 only unless told otherwise.
    assert (defaults.stream_webrtc, defaults.stream_video_codec, defaults.page_mic_handshake) \
        == (True, "H264", True)


def blocks(seconds: float, level: float) -> list[np.ndarray]:
    """20 ms blocks of a 16 kHz tone at `level` RMS (0: silence)."""
    n = round(seconds / 0.02)
    tone = (level * np.sqrt(2) * np.sin(np.arange(320) / 3)).astype(np.float32)
    return [tone.copy() for _ in range(n)]


def test_the_microphone_cutter_keeps_the_onset_and_ends_on_a_pause() -> None:
    cutter = UtteranceCutter(gap_s=0.5)
    results = [cutter.feed(b) for b in blocks(1.0, 0.0) + blocks(1.0, 0.1) + blocks(0.6, 0.0)]
    assert [i for i, r in enumerate(results) if r.started] == [50]  # the first voiced block
    finished = [r.finished for r in results if r.finished is not None]
    assert len(finished) == 1 and not cutter.open
    seconds = len(finished[0]) / 2 / 16000
    # Pre-roll + speech + a short tail, not the whole pause.
    assert seconds == pytest.approx(PRE_ROLL_S + 1.0 + 0.2, abs=0.03)
    assert cutter.heard_speech


def test_the_microphone_cutter_ignores_clicks_silence_and_nan() -> None:
    cutter = UtteranceCutter(gap_s=0.5)
    click = [cutter.feed(b) for b in blocks(0.1, 0.2) + blocks(0.6, 0.0)]
    assert click[0].started and all(r.finished is None for r in click)  # too short to count
    nan = np.full(320, np.nan, dtype=np.float32)
    assert [cutter.feed(nan).started for _ in range(20)] == [False] * 20
    assert cutter.flush() is None and not cutter.open


def test_the_microphone_cutter_ends_long_speech_and_stopped_audio() -> None:
    cutter = UtteranceCutter(gap_s=0.5)
    finished = [r.finished for b in blocks(MAX_UTTERANCE_S, 0.1)
                if (r := cutter.feed(b)).finished is not None]
    assert len(finished) == 1
    assert len(finished[0]) / 2 / 16000 == pytest.approx(MAX_UTTERANCE_S, abs=0.03)
    # Speech goes on as a new utterance, then the audio stops (a muted track may send nothing).
    starts = [cutter.feed(b).started for b in blocks(0.5, 0.1)]
    assert starts[0] and not any(starts[1:])
    pcm = cutter.flush()
    assert pcm is not None and len(pcm) / 2 / 16000 == pytest.approx(0.5, abs=0.03)

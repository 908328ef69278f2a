"""The simulator's settings: one dataclass, every field defaulted (`SimulatorConfig()` works)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# Start statuses a real RAVATAR server is documented to answer (PROTOCOL.md section 2).
FORCEABLE_START_STATUSES = frozenset({503, 504, -1})

# Video codecs a stream instance can offer, like Unreal's `PixelStreaming.Encoder.Codec`. "H264"
# (Unreal's default, negotiation off) offers H.264 only: the PyPI QtWebEngine cannot decode it,
# which reproduces a Pixel Streaming "connected but black" stream. "negotiate" offers both and
# streams the codec the player's answer lists first (how the frontend's PreferredCodec works).
STREAM_VIDEO_CODECS = frozenset({"H264", "VP8", "negotiate"})


@dataclass(frozen=True)
class SimulatorConfig:
    """How the simulator behaves. Times are seconds."""

    host: str = "127.0.0.1"
    port: int = 0
    max_licenses: int = 2
    token_ttl_s: float = 86400.0
    # Assumption (PROTOCOL.md "idle timeouts of live sessions" is a known unknown): a license nobody
    # talks to and no stream page watches for this long is reclaimed and counted as expired.
    license_idle_timeout_s: float = 300.0
    utterance_gap_s: float = 0.7
    save_audio_dir: Path | None = None
    deny_framing: bool = False
    projects: frozenset[str] | None = None
    reply_delay_s: float = 0.0
    # Every /startLiveSession answers with this status (503 / 504 / -1) instead of a license.
    force_start_status: int | None = None
    vad_enabled: bool = True
    # Real speech recognition when pocketsphinx is importable; False gives the plain audio summary.
    transcribe: bool = True
    # HS256 signing secret; None draws a random one per simulator.
    jwt_secret: str | None = None
    # Each license's Pixel Streaming instance streams the avatar over WebRTC (aiortc) when aiortc
    # is importable; False (or aiortc missing) gives the canvas page, drawn by the browser itself.
    stream_webrtc: bool = True
    stream_video_codec: str = "H264"
    stream_fps: float = 15.0
    # Frames are rendered and encoded at the session size scaled down (never up) to fit this
    # height, to keep the encoder's CPU modest; the page scales the video back up.
    stream_max_height: int = 720
    # The avatar speaks its replies on the stream's audio track with espeak-ng when installed.
    stream_voice: bool = True
    # Every this many seconds the instance's signalling pings each player (`ping {time}`).
    stream_ping_interval_s: float = 5.0
    # The stream page answers the parent's microphone commands with `ravatar-ps-mic-ready` /
    # `-state` (RAVATAR's current page); False behaves like an older page that never answers.
    page_mic_handshake: bool = True
    # Hostile mode (hostile.py): random frames before every real frame the chat socket sends,
    # and, with `hostile_spray_per_s`, a steady stream of them while a chat socket is open
    # (at most `hostile_spray_limit` per socket; None: no limit).
    hostile: bool = False
    hostile_frames_per_message: int = 20
    hostile_spray_per_s: float = 0.0
    hostile_spray_limit: int | None = None
    hostile_seed: int | None = None
    # Serve HTTPS/WSS with this certificate chain and key (PEM files) instead of plain HTTP.
    tls_cert: Path | None = None
    tls_key: Path | None = None
    # Hand out stream URLs on this origin ("http://host:port") instead of the license's own
    # instance; for testing how a client treats an http:// stream under an https:// API.
    stream_origin: str | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port must be 0..65535, got {self.port}")
        if self.max_licenses < 0:
            raise ValueError(f"max_licenses must be >= 0, got {self.max_licenses}")
        for name in ("token_ttl_s", "license_idle_timeout_s", "utterance_gap_s",
                     "stream_ping_interval_s"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        if self.reply_delay_s < 0:
            raise ValueError(f"reply_delay_s must be >= 0, got {self.reply_delay_s}")
        if self.stream_video_codec not in STREAM_VIDEO_CODECS:
            raise ValueError(f"stream_video_codec must be one of {sorted(STREAM_VIDEO_CODECS)}, "
                             f"got {self.stream_video_codec!r}")
        if not 1.0 <= self.stream_fps <= 30.0:
            raise ValueError(f"stream_fps must be 1..30, got {self.stream_fps}")
        if not 90 <= self.stream_max_height <= 1080:
            raise ValueError(f"stream_max_height must be 90..1080, got {self.stream_max_height}")
        if (self.hostile_frames_per_message < 0 or self.hostile_spray_per_s < 0
                or (self.hostile_spray_limit is not None and self.hostile_spray_limit < 0)):
            raise ValueError("hostile frame counts and rates must be >= 0")
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("tls_cert and tls_key go together: give both or neither")
        if self.stream_origin is not None and not self.stream_origin.startswith(
                ("http://", "https://")):
            raise ValueError(f"stream_origin must start with http:// or https://, "
                             f"got {self.stream_origin!r}")
        if (self.force_start_status is not None
                and self.force_start_status not in FORCEABLE_START_STATUSES):
            raise ValueError(
                f"force_start_status must be one of {sorted(FORCEABLE_START_STATUSES)}, "
                f"got {self.force_start_status}")

"""What an instance is told when it starts (plain values: it runs on another thread)."""

from __future__ import annotations

import ssl
from dataclasses import dataclass


@dataclass(frozen=True)
class StreamSettings:
    """How each player's peer streams."""

    width: int
    height: int
    colour: str
    fps: float = 15.0
    max_height: int = 720
    video_codec: str = "H264"  # "H264", "VP8" or "negotiate"
    voice: bool = True
    mic_gap_s: float = 0.7  # a pause this long ends a microphone utterance


@dataclass(frozen=True)
class InstanceSpec:
    """One license's Pixel Streaming instance."""

    license_id: str
    stream: StreamSettings
    host: str = "127.0.0.1"
    # Where the instance checks tokens: POST <api_base_url>/checkActiveInstance.
    api_base_url: str = ""
    server_ssl: ssl.SSLContext | None = None  # serve HTTPS/WSS with this
    api_ssl: ssl.SSLContext | None = None  # trust for the API call (None: the system's)
    webrtc: bool = True  # False: the canvas page, no streamer peer
    ping_interval_s: float = 5.0
    mic_handshake: bool = True
    deny_framing: bool = False

    @property
    def streamer_id(self) -> str:
        """The one streamer this instance lists."""
        return f"ravatar-{self.license_id}"

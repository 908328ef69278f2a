"""The network and video half of "Test your setup": how long the service takes to sign in
(POST /jwt), to describe the project (GET /connection) and to open the chat socket, and which
video codecs this machine can show. No Qt.

The probe uses a client of its own (no retries, a short timeout, the token not kept), so it
measures the service as it is now without disturbing the app's connection.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ravatar_live.api.backoff import NO_RETRY
from ravatar_live.live.connection import Endpoint
from ravatar_live.live.error_kinds import classify
from ravatar_live.stream.stats import DECODABLE_VIDEO_CODECS

if TYPE_CHECKING:  # the network stack loads when the check runs, not with the window
    import aiohttp

PROBE_TIMEOUT_S = 10.0
#: The native player's codecs (stream/peer.py answers with these).
NATIVE_VIDEO_CODECS = ("H264", "VP8")
STAGES = ("JWT", "connection", "chat socket")
WEB_VIEW_ORDER = ("VP8", "VP9", "AV1")  # oldest first, as people list them


@dataclass
class ServiceTimings:
    """Milliseconds per stage reached; `failed_stage` and `error` when one failed."""

    ms: dict[str, float] = field(default_factory=dict)
    failed_stage: str | None = None
    error: str = ""


async def probe_service(http: aiohttp.ClientSession, endpoint: Endpoint,
                        timeout_s: float = PROBE_TIMEOUT_S) -> ServiceTimings:
    from ravatar_live.api.rest import RavatarClient  # noqa: PLC0415 - see TYPE_CHECKING

    timings = ServiceTimings()
    client = RavatarClient(http, endpoint.api_url, endpoint.project_id, endpoint.user_id,
                           retry_policy=NO_RETRY, request_timeout_s=timeout_s)
    stage = STAGES[0]
    try:
        started = time.perf_counter()
        await client.token()
        timings.ms[stage] = (time.perf_counter() - started) * 1000
        stage = STAGES[1]
        started = time.perf_counter()
        await client.connection()
        timings.ms[stage] = (time.perf_counter() - started) * 1000
        stage = STAGES[2]
        started = time.perf_counter()
        socket = client.chat_socket(ws_url=endpoint.ws_url)
        try:
            await socket.connect()
            timings.ms[stage] = (time.perf_counter() - started) * 1000
        finally:
            await socket.close()
    except Exception as exc:  # every failure is a finding, said in words
        timings.failed_stage = stage
        timings.error = classify(exc)[1]
    return timings


@dataclass(frozen=True)
class VideoCodecs:
    web_view: tuple[str, ...]
    native: tuple[str, ...]
    native_problem: str = ""  # why the app's own player cannot run, when it cannot


def video_codecs() -> VideoCodecs:
    """What the built-in browser decodes (a fact of the PyPI QtWebEngine) and what the app's
    own player decodes here (asked of libavcodec)."""
    web = tuple(c for c in WEB_VIEW_ORDER if c in DECODABLE_VIDEO_CODECS)
    try:
        import aiortc  # noqa: F401, PLC0415 - the player's WebRTC
        import av  # noqa: PLC0415
    except ImportError as exc:
        return VideoCodecs(web, (), f"its libraries could not load ({exc})")
    native = []
    for name in NATIVE_VIDEO_CODECS:
        try:
            av.codec.Codec(name.lower(), "r")
        except ValueError:  # av.codec.UnknownCodecError
            continue
        native.append(name)
    return VideoCodecs(web, tuple(native), "" if native else "libavcodec has no decoder for "
                       "H.264 or VP8")

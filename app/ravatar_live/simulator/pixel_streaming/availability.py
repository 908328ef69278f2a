"""Whether instances can stream WebRTC: aiortc (and PyAV) are optional.

Without them (or with `SimulatorConfig.stream_webrtc=False`) every instance serves the canvas
page, which draws the avatar in the browser and follows the activity over the signalling socket.
"""

from __future__ import annotations

import importlib
import importlib.util
from functools import cache

from ravatar_live.simulator.config import SimulatorConfig


@cache
def aiortc_missing_reason() -> str | None:
    """None when aiortc and PyAV import; otherwise why not (for logs and the admin API)."""
    for module in ("aiortc", "av"):
        if importlib.util.find_spec(module) is None:
            return f"{module} is not installed (pip install aiortc)"
    try:
        importlib.import_module("ravatar_live.simulator.pixel_streaming.streamer")
    except ImportError as exc:  # e.g. a broken native library
        return f"aiortc could not be loaded: {exc}"
    return None


def webrtc_enabled(config: SimulatorConfig) -> bool:
    """True when instances stream the avatar over WebRTC."""
    return config.stream_webrtc and aiortc_missing_reason() is None

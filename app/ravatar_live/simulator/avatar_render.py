"""Draws the simulator's avatar as RGB frames (numpy only) for the WebRTC video track.

The look follows the canvas page (static/stream.js): a round head in the avatar's colour, eyes
that blink and glance aside while thinking, a mouth that opens with the voice, pulsing rings while
listening. Everything that never moves is drawn once per size and colour (`_still_picture`); a
frame costs one copy plus a few small patches, so rendering stays cheap next to the video encoder.
"""

from __future__ import annotations

import functools
import math
from typing import Literal

import numpy as np

Rgb = tuple[int, int, int]

BACKGROUND_TOP: Rgb = (0x1B, 0x22, 0x30)
BACKGROUND_BOTTOM: Rgb = (0x0B, 0x0E, 0x14)
SHOULDERS: Rgb = (0x2B, 0x34, 0x44)
EYE_WHITE: Rgb = (0xFF, 0xFF, 0xFF)
PUPIL: Rgb = (0x1B, 0x22, 0x30)
MOUTH_INSIDE: Rgb = (0x3A, 0x10, 0x20)
RING: Rgb = (120, 200, 255)
MODES = frozenset({"connecting", "idle", "listening", "thinking", "speaking", "ended"})


def parse_colour(hex_colour: str) -> Rgb:
    """'#4f8cc9' -> (79, 140, 201); a malformed colour gives a neutral blue."""
    text = hex_colour.lstrip("#")
    if len(text) != 6:
        return (0x4F, 0x8C, 0xC9)
    try:
        return (int(text[0:2], 16), int(text[2:4], 16), int(text[4:6], 16))
    except ValueError:
        return (0x4F, 0x8C, 0xC9)


def fit_size(width: int, height: int, max_height: int) -> tuple[int, int]:
    """The encoded size: the session size scaled down (never up) to `max_height`, both even
    (4:2:0 video needs even dimensions) and at least 16 px."""
    scale = min(1.0, max_height / height) if height > 0 else 1.0
    w = max(16, int(width * scale) // 2 * 2)
    h = max(16, int(height * scale) // 2 * 2)
    return w, h


def _blend(patch: np.ndarray, alpha: np.ndarray, colour: Rgb) -> None:
    """Paint `colour` over `patch` (H x W x 3 float or uint8 view) with per-pixel `alpha`."""
    a = alpha[..., None]
    patch[...] = patch * (1.0 - a) + np.asarray(colour, dtype=np.float32) * a


def _ellipse_alpha(xs: np.ndarray, ys: np.ndarray, centre: tuple[float, float],
                   radii: tuple[float, float]) -> np.ndarray:
    """Anti-aliased coverage (0..1) of an ellipse on a pixel grid."""
    (cx, cy), (rx, ry) = centre, radii
    d = np.sqrt(((xs - cx) / max(rx, 1e-3)) ** 2 + ((ys - cy) / max(ry, 1e-3)) ** 2)
    return np.clip((1.0 - d) * min(rx, ry) + 0.5, 0.0, 1.0).astype(np.float32)


def _geometry(width: int, height: int) -> tuple[int, float, float, float]:
    """The head's layout: (shorter side, centre x, centre y, radius)."""
    s = min(width, height)
    return s, width / 2, height * 0.45, s * 0.27


def _box(width: int, height: int, centre: tuple[float, float],
         radii: tuple[float, float]) -> tuple[int, int, int, int]:
    """Pixel bounds (y0, y1, x0, x1) of a shape, clipped to the frame; a shape's anti-aliased
    edge ends within it."""
    (cx, cy), (rx, ry) = centre, radii
    return (max(0, int(cy - ry) - 2), min(height, int(cy + ry) + 3),
            max(0, int(cx - rx) - 2), min(width, int(cx + rx) + 3))


def _paint_ellipse(img: np.ndarray, colour: Rgb, centre: tuple[float, float],
                   radii: tuple[float, float], *, strength: float = 1.0,
                   half: Literal["upper", "lower"] | None = None) -> None:
    """Blend one ellipse (or its upper or lower half) into a picture, float or uint8, within
    its box only."""
    h, w = img.shape[:2]
    y0, y1, x0, x1 = _box(w, h, centre, radii)
    if y0 >= y1 or x0 >= x1:
        return
    ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    alpha = _ellipse_alpha(xs, ys, centre, radii) * strength
    if half == "upper":
        alpha[ys > centre[1]] = 0.0
    elif half == "lower":
        alpha[ys < centre[1]] = 0.0
    _blend(img[y0:y1, x0:x1], alpha, colour)


@functools.lru_cache(maxsize=8)
def _still_picture(width: int, height: int, colour: Rgb) -> np.ndarray:
    """Background, shoulders, head and cheeks: everything that never changes, drawn once per
    size and colour in a process (read-only; each renderer copies it into its own frame), so a
    player connecting finds the picture ready, as it would a running streamer's."""
    _, cx, cy, r = _geometry(width, height)
    t = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    top = np.asarray(BACKGROUND_TOP, dtype=np.float32)
    bottom = np.asarray(BACKGROUND_BOTTOM, dtype=np.float32)
    img = np.broadcast_to(top * (1 - t) + bottom * t, (height, width, 3)).copy()
    # Only the upper half of the shoulders, like the canvas page.
    _paint_ellipse(img, SHOULDERS, (cx, cy + r * 1.75), (r * 1.35, r * 0.85), half="upper")
    _paint_ellipse(img, colour, (cx, cy), (r, r))
    for x in (cx - r * 0.55, cx + r * 0.55):
        _paint_ellipse(img, (255, 120, 140), (x, cy + r * 0.2), (r * 0.14, r * 0.09),
                       strength=0.28)
    picture = np.clip(img, 0, 255).astype(np.uint8)
    picture.flags.writeable = False
    return picture


class AvatarRenderer:
    """Frames of one avatar at one size. `render()` is not thread-safe (it reuses buffers)."""

    def __init__(self, width: int, height: int, colour: str) -> None:
        if width < 16 or height < 16 or width % 2 or height % 2:
            raise ValueError(f"frame size must be even and at least 16x16, got {width}x{height}")
        self.width = width
        self.height = height
        self.colour = parse_colour(colour)
        self._s, self._cx, self._cy, self._r = _geometry(width, height)
        self._base = _still_picture(width, height, self.colour)
        self._frame = np.empty_like(self._base)
        self._rings_box = self._box(self._cx, self._cy, self._r * 1.45, self._r * 1.45)
        y0, y1, x0, x1 = self._rings_box
        ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32)
        self._ring_dist = np.sqrt((xs - self._cx) ** 2 + (ys - self._cy) ** 2)

    def _box(self, cx: float, cy: float, rx: float, ry: float) -> tuple[int, int, int, int]:
        return _box(self.width, self.height, (cx, cy), (rx, ry))

    def _paint(self, colour: Rgb, cx: float, cy: float, rx: float, ry: float, *,
               lower_half_only: bool = False) -> None:
        _paint_ellipse(self._frame, colour, (cx, cy), (rx, ry),
                       half="lower" if lower_half_only else None)

    def render(self, t: float, mode: str = "idle", mouth_open: float = 0.0,
               blinking: bool = False) -> np.ndarray:
        """One H x W x 3 uint8 RGB frame at time `t` (seconds). `mouth_open` is 0..1 (the voice's
        loudness); the returned array is reused by the next call."""
        frame = self._frame
        np.copyto(frame, self._base)
        r, cx, cy = self._r, self._cx, self._cy
        if mode == "listening":
            self._draw_rings(t)
        eye_y, eye_dx, eye_r = cy - r * 0.18, r * 0.36, r * 0.11
        look = -eye_r * 0.4 if mode == "thinking" else 0.0
        for ex in (cx - eye_dx, cx + eye_dx):
            if blinking:
                self._paint(EYE_WHITE, ex, eye_y, eye_r, max(1.0, eye_r * 0.12))
            else:
                self._paint(EYE_WHITE, ex, eye_y, eye_r, eye_r)
                self._paint(PUPIL, ex + look, eye_y + look * 0.3, eye_r * 0.45, eye_r * 0.45)
        mouth_y, mouth_w = cy + r * 0.38, r * 0.42
        opening = max(0.0, min(1.0, mouth_open))
        if mode == "speaking" and opening > 0.02:
            ry = (0.2 + 0.8 * opening) * r * 0.15
            self._paint(EYE_WHITE, cx, mouth_y, mouth_w * 0.5 + 2, ry + 2)
            self._paint(MOUTH_INSIDE, cx, mouth_y, mouth_w * 0.5, ry)
        else:  # a closed smile: the lower rim of a flat ellipse
            depth = 0.0 if mode == "thinking" else r * 0.08
            thick = max(1.5, self._s * 0.012)
            self._paint(EYE_WHITE, cx, mouth_y, mouth_w / 2, depth + thick / 2,
                        lower_half_only=True)
            self._paint(self.colour, cx, mouth_y - thick / 2, mouth_w / 2 - thick,
                        max(0.5, depth - thick / 2), lower_half_only=True)
        if mode == "ended":
            frame //= 3
        return frame

    def _draw_rings(self, t: float) -> None:
        y0, y1, x0, x1 = self._rings_box
        alpha = np.zeros(self._ring_dist.shape, dtype=np.float32)
        width = max(1.0, self._s * 0.008)
        for k in range(3):
            phase = (t * 0.8 + k / 3) % 1.0
            radius = self._r * (1.05 + phase * 0.35)
            ring = np.clip(width - np.abs(self._ring_dist - radius), 0.0, 1.0) * 0.45 * (1 - phase)
            np.maximum(alpha, ring, out=alpha)
        alpha[self._ring_dist < self._r] = 0.0  # rings sit behind the head
        patch = self._frame[y0:y1, x0:x1].astype(np.float32)
        _blend(patch, alpha, RING)
        self._frame[y0:y1, x0:x1] = patch.astype(np.uint8)


def blink_at(t: float, period_s: float = 3.7, length_s: float = 0.14) -> bool:
    """A deterministic blink schedule (a blink of `length_s` every `period_s`, jittered)."""
    cycle = math.floor(t / period_s)
    offset = (math.sin(cycle * 12.9898) * 43758.5453) % 1.0 * (period_s - length_s)
    return offset <= t - cycle * period_s < offset + length_s

"""How the window is drawn: with Qt's raster engine when OpenGL is only a software rasteriser.

A `QWebEngineView` makes Qt compose the whole window through its RHI (OpenGL) backing store, and
`QVideoFrame.paint` converts each native-player frame through an OpenGL texture. With a graphics
processor that is cheap; without one (a VM, a remote desktop, a laptop with no usable driver),
OpenGL is Mesa's llvmpipe on the CPU: every repaint of any widget renders and reads back the
whole window in software. Measured here (bench_vs_browser, no GPU, Xvfb): the llvmpipe threads
took about 30 % of a core with the web view showing the stream and 25 % with the native player.

So when the OpenGL renderer is a software rasteriser (or there is no OpenGL), the app asks for
software drawing before the first window exists:
- `AA_ForceRasterWidgets`: plain raster backing stores; a repaint flushes only what changed, and
  `QVideoFrame` converts on the CPU (Qt's SIMD converters) instead of through llvmpipe;
- Qt Quick's software scene graph (`QT_QUICK_BACKEND=software`), which the web view's Qt Quick
  item and QtWebEngine's compositor then use, so no window needs OpenGL any more.

`RAVATAR_LIVE_RENDERING=software|gpu` overrides the probe; a `QT_QUICK_BACKEND` set by the user is
left alone.

The probe itself needs an OpenGL context, and with Mesa that maps its LLVM rasteriser into the
process for good (~32 MiB of PSS, bench_vs_browser), as does the shared context QtWebEngine has
Qt make. So the answer is remembered per display (`RenderingMemory`, a week): a start whose
display was found without a graphics processor goes without OpenGL from the first moment
(`QT_XCB_GL_INTEGRATION=none`, before the QApplication exists), and a week later the probe runs
again, in case a driver arrived.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Mapping, MutableMapping
from enum import StrEnum
from pathlib import Path

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtGui import QOffscreenSurface, QOpenGLContext

from ravatar_live.state_files import state_file

logger = logging.getLogger(__name__)

OVERRIDE_VARIABLE = "RAVATAR_LIVE_RENDERING"
NO_OPENGL_VARIABLE = "QT_XCB_GL_INTEGRATION"  # "none": the X11 plugin loads no OpenGL at all
REPROBE_AFTER_S = 7 * 24 * 3600
_GL_RENDERER = 0x1F01
# GL_RENDERER strings of rasterisers that run on the CPU (Mesa, Google's, Windows' fallback).
_SOFTWARE_RASTERISERS = ("llvmpipe", "softpipe", "swrast", "swiftshader",
                         "software rasterizer", "gdi generic", "microsoft basic render")


class Rendering(StrEnum):
    SOFTWARE = "software"
    GPU = "gpu"


def opengl_renderer() -> str | None:
    """The OpenGL renderer's name (GL_RENDERER), or None when OpenGL cannot be used.
    Needs the QGuiApplication; costs ~0.1 s with llvmpipe (its first context)."""
    context = QOpenGLContext()
    if not context.create():
        return None
    surface = QOffscreenSurface()
    surface.create()
    try:
        if not context.makeCurrent(surface):
            return None
        name = context.functions().glGetString(_GL_RENDERER)
        context.doneCurrent()
        return str(name) if name else None
    finally:
        surface.destroy()


def is_software_renderer(renderer: str | None) -> bool:
    if renderer is None:
        return True  # no OpenGL at all: everything is drawn on the CPU anyway
    lowered = renderer.lower()
    return any(name in lowered for name in _SOFTWARE_RASTERISERS)


def choose_rendering(environ: MutableMapping[str, str],
                     probe: Callable[[], str | None] | None = None) -> Rendering:
    """Software drawing unless a real graphics processor renders OpenGL (or the user says)."""
    wanted = environ.get(OVERRIDE_VARIABLE, "").strip().lower()
    if wanted in (Rendering.SOFTWARE, Rendering.GPU):
        return Rendering(wanted)
    if wanted:
        logger.warning("%s=%s is not 'software' or 'gpu': choosing by the OpenGL renderer",
                       OVERRIDE_VARIABLE, wanted)
    renderer = (probe or opengl_renderer)()
    choice = Rendering.SOFTWARE if is_software_renderer(renderer) else Rendering.GPU
    logger.info("OpenGL renderer: %s; drawing with %s", renderer or "none", choice.value)
    return choice


def apply_rendering(choice: Rendering, environ: MutableMapping[str, str]) -> None:
    """Before any window or web view exists."""
    if choice is Rendering.SOFTWARE:
        QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ForceRasterWidgets)
        environ.setdefault("QT_QUICK_BACKEND", "software")


def display_key(environ: Mapping[str, str]) -> str:
    """Which display the app draws on: a remote X display or a Wayland session answers
    differently from the local X server."""
    platform = environ.get("QT_QPA_PLATFORM", "") or environ.get("XDG_SESSION_TYPE", "")
    return f"{platform}|{environ.get('WAYLAND_DISPLAY', '')}|{environ.get('DISPLAY', '')}"


def default_memory_path() -> Path:
    return state_file("rendering.json")


class RenderingMemory:
    """The probe's last answer for one display, with when it was found. A JSON object on disk;
    an unreadable one is no answer (the probe runs)."""

    def __init__(self, path: Path | None = None, clock: Callable[[], float] = time.time) -> None:
        self.path = path or default_memory_path()
        self._clock = clock

    def recall(self, key: str) -> Rendering | None:
        """The remembered choice for ``key`` while it is fresh (under a week old)."""
        try:
            entry = json.loads(self.path.read_text(encoding="utf-8"))
            age = self._clock() - float(entry["probed_at"])
            if entry["display"] != key or not 0 <= age < REPROBE_AFTER_S:
                return None
            return Rendering(entry["choice"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def remember(self, key: str, choice: Rendering) -> None:
        entry = {"display": key, "choice": choice.value, "probed_at": self._clock()}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text(json.dumps(entry), encoding="utf-8")
        except OSError as exc:
            logger.warning("could not remember how the window is drawn: %s", exc)


def rendering_before_qt(environ: MutableMapping[str, str],
                        memory: RenderingMemory) -> Rendering | None:
    """Before the QApplication: software drawing already known (the user's override, or this
    display remembered without a graphics processor) goes without OpenGL from the start; None
    means the probe must decide once the QApplication exists."""
    wanted = environ.get(OVERRIDE_VARIABLE, "").strip().lower()
    known = Rendering.SOFTWARE if wanted == Rendering.SOFTWARE else \
        None if wanted else memory.recall(display_key(environ))
    if known is not Rendering.SOFTWARE:
        return None
    environ.setdefault(NO_OPENGL_VARIABLE, "none")
    apply_rendering(known, environ)
    logger.info("drawing with software, without OpenGL (%s)",
                "the user's choice" if wanted else "this display has no graphics processor")
    return known


def configure_rendering(environ: MutableMapping[str, str] | None = None,
                        memory: RenderingMemory | None = None) -> Rendering:
    """Choose and apply once the QApplication exists (when `rendering_before_qt` did not), and
    remember what the probe found for this display."""
    env = os.environ if environ is None else environ
    probed = not env.get(OVERRIDE_VARIABLE, "").strip()
    choice = choose_rendering(env)
    apply_rendering(choice, env)
    if probed and memory is not None:
        memory.remember(display_key(env), choice)
    return choice

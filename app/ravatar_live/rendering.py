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
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, MutableMapping
from enum import StrEnum

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtGui import QOffscreenSurface, QOpenGLContext

logger = logging.getLogger(__name__)

OVERRIDE_VARIABLE = "RAVATAR_LIVE_RENDERING"
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
                     probe: Callable[[], str | None] = opengl_renderer) -> Rendering:
    """Software drawing unless a real graphics processor renders OpenGL (or the user says)."""
    wanted = environ.get(OVERRIDE_VARIABLE, "").strip().lower()
    if wanted in (Rendering.SOFTWARE, Rendering.GPU):
        return Rendering(wanted)
    if wanted:
        logger.warning("%s=%s is not 'software' or 'gpu': choosing by the OpenGL renderer",
                       OVERRIDE_VARIABLE, wanted)
    renderer = probe()
    choice = Rendering.SOFTWARE if is_software_renderer(renderer) else Rendering.GPU
    logger.info("OpenGL renderer: %s; drawing with %s", renderer or "none", choice.value)
    return choice


def apply_rendering(choice: Rendering, environ: MutableMapping[str, str]) -> None:
    """Before any window or web view exists."""
    if choice is Rendering.SOFTWARE:
        QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ForceRasterWidgets)
        environ.setdefault("QT_QUICK_BACKEND", "software")


def configure_rendering(environ: MutableMapping[str, str] | None = None) -> Rendering:
    """Choose and apply (once the QApplication exists)."""
    env = os.environ if environ is None else environ
    choice = choose_rendering(env)
    apply_rendering(choice, env)
    return choice

"""Which way the window is drawn: software when OpenGL is a CPU rasteriser (or missing), the
graphics processor otherwise, and the user's override either way."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QCoreApplication, Qt

from ravatar_live.rendering import (
    OVERRIDE_VARIABLE,
    Rendering,
    apply_rendering,
    choose_rendering,
    is_software_renderer,
)


@pytest.mark.parametrize("renderer", [
    "llvmpipe (LLVM 15.0.6, 256 bits)", "softpipe", "Mesa X11 swrast",
    "Google SwiftShader", "GDI Generic", "Microsoft Basic Render Driver", None])
def test_cpu_rasterisers_and_no_opengl_mean_software(renderer: str | None) -> None:
    assert is_software_renderer(renderer)


@pytest.mark.parametrize("renderer", [
    "Mesa Intel(R) UHD Graphics 620 (KBL GT2)", "NVIDIA GeForce RTX 3060/PCIe/SSE2",
    "AMD Radeon RX 6700 XT (radeonsi, navi22, LLVM 15.0.6, DRM 3.49)", "Apple M1",
    "virgl (Intel(R) Xe Graphics)"])
def test_graphics_processors_mean_gpu(renderer: str) -> None:
    assert not is_software_renderer(renderer)


def test_the_probe_decides_without_an_override() -> None:
    assert choose_rendering({}, probe=lambda: "llvmpipe (LLVM 15)") is Rendering.SOFTWARE
    assert choose_rendering({}, probe=lambda: "NVIDIA GeForce") is Rendering.GPU


@pytest.mark.parametrize(("value", "expected"), [("software", Rendering.SOFTWARE),
                                                 ("GPU", Rendering.GPU)])
def test_the_override_wins_and_skips_the_probe(value: str, expected: Rendering) -> None:
    def probe() -> str:
        raise AssertionError("the probe must not run when the user chose")

    assert choose_rendering({OVERRIDE_VARIABLE: value}, probe=probe) is expected


def test_a_wrong_override_is_ignored_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    assert choose_rendering({OVERRIDE_VARIABLE: "fast"},
                            probe=lambda: "NVIDIA GeForce") is Rendering.GPU
    assert "not 'software' or 'gpu'" in caplog.text


def test_software_asks_qt_quick_for_its_software_backend_unless_the_user_chose_one() -> None:
    raster = Qt.ApplicationAttribute.AA_ForceRasterWidgets
    was = QCoreApplication.testAttribute(raster)
    env: dict[str, str] = {}
    try:
        apply_rendering(Rendering.SOFTWARE, env)
        assert QCoreApplication.testAttribute(raster)
    finally:
        QCoreApplication.setAttribute(raster, was)  # the rest of the session draws as before
    assert env["QT_QUICK_BACKEND"] == "software"
    chosen = {"QT_QUICK_BACKEND": "rhi"}
    try:
        apply_rendering(Rendering.SOFTWARE, chosen)
    finally:
        QCoreApplication.setAttribute(raster, was)
    assert chosen["QT_QUICK_BACKEND"] == "rhi"
    gpu: dict[str, str] = {}
    apply_rendering(Rendering.GPU, gpu)
    assert gpu == {}

"""Which way the window is drawn: software when OpenGL is a CPU rasteriser (or missing), the
graphics processor otherwise, and the user's override either way."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, Qt

from ravatar_live.rendering import (
    NO_OPENGL_VARIABLE,
    OVERRIDE_VARIABLE,
    REPROBE_AFTER_S,
    Rendering,
    RenderingMemory,
    apply_rendering,
    choose_rendering,
    configure_rendering,
    display_key,
    is_software_renderer,
    rendering_before_qt,
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


LOCAL_X = {"QT_QPA_PLATFORM": "xcb", "DISPLAY": ":0"}


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def raster_restored() -> Iterator[None]:
    """apply_rendering sets an application attribute: the rest of the session draws as before."""
    raster = Qt.ApplicationAttribute.AA_ForceRasterWidgets
    was = QCoreApplication.testAttribute(raster)
    yield
    QCoreApplication.setAttribute(raster, was)


def test_a_display_remembered_without_a_gpu_goes_without_opengl_for_a_week(
        tmp_path: Path, raster_restored: None) -> None:
    clock = Clock()
    memory = RenderingMemory(tmp_path / "rendering.json", clock)
    env = dict(LOCAL_X)
    assert rendering_before_qt(env, memory) is None, "nothing known yet: the probe decides"
    assert NO_OPENGL_VARIABLE not in env
    memory.remember(display_key(env), Rendering.SOFTWARE)
    clock.now += REPROBE_AFTER_S - 60
    assert rendering_before_qt(env, memory) is Rendering.SOFTWARE
    assert env[NO_OPENGL_VARIABLE] == "none" and env["QT_QUICK_BACKEND"] == "software"
    assert QCoreApplication.testAttribute(Qt.ApplicationAttribute.AA_ForceRasterWidgets)
    clock.now += 120  # a week old: probe again, a driver may have arrived
    assert rendering_before_qt(dict(LOCAL_X), memory) is None


def test_another_display_or_a_gpu_is_left_to_the_probe(tmp_path: Path) -> None:
    memory = RenderingMemory(tmp_path / "rendering.json")
    memory.remember(display_key(LOCAL_X), Rendering.SOFTWARE)
    remote = {"QT_QPA_PLATFORM": "xcb", "DISPLAY": "localhost:10.0"}  # ssh -X
    assert rendering_before_qt(remote, memory) is None and NO_OPENGL_VARIABLE not in remote
    memory.remember(display_key(LOCAL_X), Rendering.GPU)
    env = dict(LOCAL_X)
    assert rendering_before_qt(env, memory) is None and NO_OPENGL_VARIABLE not in env


@pytest.mark.parametrize("content", ["", "{", "[]", '{"display": 1}',
                                     '{"display": "xcb||:0", "choice": "fast", "probed_at": 1}'])
def test_an_unreadable_memory_means_probing(tmp_path: Path, content: str) -> None:
    path = tmp_path / "rendering.json"
    path.write_text(content)
    assert RenderingMemory(path).recall(display_key(LOCAL_X)) is None


def test_the_users_choice_counts_before_qt_and_is_not_remembered(
        tmp_path: Path, raster_restored: None) -> None:
    memory = RenderingMemory(tmp_path / "rendering.json")
    chosen = {**LOCAL_X, OVERRIDE_VARIABLE: "software", NO_OPENGL_VARIABLE: "glx"}
    assert rendering_before_qt(chosen, memory) is Rendering.SOFTWARE
    assert chosen[NO_OPENGL_VARIABLE] == "glx", "a value the user set is left alone"
    gpu = {**LOCAL_X, OVERRIDE_VARIABLE: "gpu"}
    assert rendering_before_qt(gpu, memory) is None
    assert configure_rendering(gpu, memory) is Rendering.GPU
    assert not memory.path.exists()


def test_what_the_probe_finds_is_remembered(tmp_path: Path, raster_restored: None,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    memory = RenderingMemory(tmp_path / "state" / "rendering.json")
    monkeypatch.setattr("ravatar_live.rendering.opengl_renderer", lambda: "llvmpipe (LLVM 15)")
    env = dict(LOCAL_X)
    assert configure_rendering(env, memory) is Rendering.SOFTWARE
    assert memory.recall(display_key(env)) is Rendering.SOFTWARE

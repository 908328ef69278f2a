"""The app icon: SVG source, the PNG sizes launchers look up, and the .ico/.icns containers."""

from __future__ import annotations

import struct
import xml.etree.ElementTree as ET
from pathlib import Path
from types import ModuleType

import pytest
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QApplication

REPO = Path(__file__).resolve().parents[2]
ICON_DIR = REPO / "resources" / "icons" / "app"
SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path.name} is not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_svg_source_is_square_and_well_formed() -> None:
    root = ET.parse(ICON_DIR / "ravatar-live.svg").getroot()
    assert root.tag.endswith("svg")
    assert root.get("viewBox") == "0 0 512 512"


@pytest.mark.parametrize("size", SIZES)
def test_png_exists_at_its_size(size: int) -> None:
    path = ICON_DIR / f"ravatar-live-{size}.png"
    assert path.is_file(), f"{path} missing: run `make icons`"
    assert _png_size(path) == (size, size)


def test_16px_icon_is_readable(qapp: QApplication) -> None:
    """At 16 px: transparent rounded corners, and a face that contrasts with the tile."""
    image = QImage(str(ICON_DIR / "ravatar-live-16.png"))
    assert not image.isNull()
    assert image.pixelColor(0, 0).alpha() == 0, "corner should be transparent (rounded tile)"
    centre = image.pixelColor(8, 10)   # the light face
    edge = image.pixelColor(1, 8)       # the coloured tile
    assert centre.alpha() == 255 and edge.alpha() > 200
    assert centre.lightness() - edge.lightness() > 60, (centre.name(), edge.name())
    # The eyes are dark features inside the face: some pixel in the eye row must be dark.
    eye_row = [image.pixelColor(x, 7) for x in range(4, 12)]
    assert min(c.lightness() for c in eye_row) < 110, [c.name() for c in eye_row]


def test_committed_pngs_match_the_svg(
    qapp: QApplication, tmp_path: Path, render_icons: ModuleType
) -> None:
    """Catch an edited SVG whose PNGs were not re-rendered (`make icons`)."""
    render_icons.render_pngs(ICON_DIR / "ravatar-live.svg", tmp_path, (16, 48, 256))
    for size in (16, 48, 256):
        fresh = QImage(str(tmp_path / f"ravatar-live-{size}.png"))
        committed = QImage(str(ICON_DIR / f"ravatar-live-{size}.png"))
        worst = _max_lightness_difference(fresh, committed)
        assert worst <= 8, f"{size}px PNG is stale (max lightness difference {worst})"


def _max_lightness_difference(a: QImage, b: QImage) -> int:
    """Over every pixel of small images, a 64x64 grid of samples on large ones."""
    step = max(1, a.width() // 64)
    return max(
        abs(QColor(a.pixel(x, y)).lightness() - QColor(b.pixel(x, y)).lightness())
        for x in range(0, a.width(), step) for y in range(0, a.height(), step)
    )


def test_ico_holds_png_entries_up_to_256() -> None:
    data = (ICON_DIR / "ravatar-live.ico").read_bytes()
    reserved, kind, count = struct.unpack("<HHH", data[:6])
    assert (reserved, kind) == (0, 1) and count >= 5
    sizes = set()
    for i in range(count):
        w, _h, _c, _r, _planes, _bpp, length, offset = struct.unpack(
            "<BBBBHHII", data[6 + 16 * i: 22 + 16 * i])
        assert data[offset:offset + 8] == b"\x89PNG\r\n\x1a\n"
        assert offset + length <= len(data)
        sizes.add(w or 256)
    assert {16, 32, 48, 256} <= sizes


def test_icns_chunks_cover_the_finder_sizes() -> None:
    data = (ICON_DIR / "ravatar-live.icns").read_bytes()
    assert data[:4] == b"icns" and struct.unpack(">I", data[4:8])[0] == len(data)
    kinds = []
    pos = 8
    while pos < len(data):
        kind, length = data[pos:pos + 4], struct.unpack(">I", data[pos + 4:pos + 8])[0]
        assert length > 8 and data[pos + 8:pos + 16] == b"\x89PNG\r\n\x1a\n"
        kinds.append(kind)
        pos += length
    assert pos == len(data)
    assert {b"icp4", b"icp5", b"ic07", b"ic08", b"ic09"} <= set(kinds)

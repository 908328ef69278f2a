"""Render the app icon SVG into the PNG sizes desktops ask for, plus .ico and .icns containers.

Run from the repo root: `.venv/bin/python packaging/render_icons.py` (or `make icons`).
QtSvg does the rendering because it ships in the PySide6 wheel we already need; Debian's
ImageMagick has no SVG delegate and rsvg-convert is not installed everywhere.
The outputs are committed, so building or installing never needs this script.
"""

from __future__ import annotations

import argparse
import os
import struct
import sys
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

REPO = Path(__file__).resolve().parent.parent
ICON_DIR = REPO / "resources" / "icons" / "app"
SVG_NAME = "ravatar-live.svg"
# hicolor sizes Linux launchers look up; 512 for HiDPI docks and the macOS/Windows containers.
PNG_SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
# ICNS chunk types that hold a PNG at the given pixel size (Apple's modern, PNG-based entries).
ICNS_TYPES = {16: b"icp4", 32: b"icp5", 64: b"icp6", 128: b"ic07", 256: b"ic08", 512: b"ic09"}


def png_name(size: int) -> str:
    return f"ravatar-live-{size}.png"


def render_pngs(svg: Path, out_dir: Path, sizes: tuple[int, ...] = PNG_SIZES) -> list[Path]:
    """Render `svg` at each size with antialiasing; returns the written paths."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # no display needed
    _app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise ValueError(f"{svg} is not a valid SVG file")
    written: list[Path] = []
    for size in sizes:
        image = QImage(size, size, QImage.Format.Format_ARGB32)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        renderer.render(painter)
        painter.end()
        path = out_dir / png_name(size)
        if not image.save(str(path)):  # format from the .png suffix
            raise OSError(f"could not write {path}")
        written.append(path)
    return written


def write_ico(pngs: dict[int, bytes], out: Path) -> None:
    """Windows .ico with PNG-compressed entries (valid since Windows Vista)."""
    header = struct.pack("<HHH", 0, 1, len(pngs))
    offset = 6 + 16 * len(pngs)
    directory = b""
    payload = b""
    for size, data in sorted(pngs.items()):
        dim = 0 if size >= 256 else size  # 0 means 256 in the ICONDIRENTRY byte fields
        directory += struct.pack("<BBBBHHII", dim, dim, 0, 0, 1, 32, len(data), offset)
        payload += data
        offset += len(data)
    out.write_bytes(header + directory + payload)


def write_icns(pngs: dict[int, bytes], out: Path) -> None:
    """macOS .icns made only of PNG chunks (supported since OS X 10.7)."""
    chunks = b"".join(
        ICNS_TYPES[size] + struct.pack(">I", 8 + len(data)) + data
        for size, data in sorted(pngs.items())
    )
    out.write_bytes(b"icns" + struct.pack(">I", 8 + len(chunks)) + chunks)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ICON_DIR, help="output directory")
    args = parser.parse_args(argv)
    out_dir: Path = args.out
    out_dir.mkdir(parents=True, exist_ok=True)
    render_pngs(ICON_DIR / SVG_NAME, out_dir)
    data = {size: (out_dir / png_name(size)).read_bytes() for size in PNG_SIZES}
    write_ico({s: data[s] for s in ICO_SIZES}, out_dir / "ravatar-live.ico")
    write_icns({s: data[s] for s in ICNS_TYPES}, out_dir / "ravatar-live.icns")
    print(f"wrote {len(PNG_SIZES)} PNGs, ravatar-live.ico and ravatar-live.icns to {out_dir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

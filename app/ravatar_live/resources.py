"""Where the app's resources (host page, stylesheet, icons) live, in a checkout and when frozen.

Search order: $RAVATAR_LIVE_RESOURCES, the PyInstaller bundle (`<_MEIPASS>/resources`), a
`resources/` folder inside the package (a wheel may carry it there), then the repository's top-level
`resources/` (editable installs and a plain checkout).
"""

from __future__ import annotations

import os
import sys
from functools import cache
from pathlib import Path

RESOURCES_ENV = "RAVATAR_LIVE_RESOURCES"


class MissingResourceError(FileNotFoundError):
    """A file the app ships with is not where it should be (a broken install)."""


@cache
def resources_dir() -> Path:
    candidates: list[Path] = []
    if env := os.environ.get(RESOURCES_ENV):
        candidates.append(Path(env))
    if bundle := getattr(sys, "_MEIPASS", None):
        candidates.append(Path(bundle) / "resources")
    package_dir = Path(__file__).resolve().parent
    candidates += [package_dir / "resources", package_dir.parent.parent / "resources"]
    for candidate in candidates:
        if (candidate / "web" / "host.html").is_file():
            return candidate
    tried = ", ".join(str(c) for c in candidates)
    raise MissingResourceError(f"The app's resources folder was not found (looked in {tried}).")


def resource_path(*parts: str) -> Path:
    path = resources_dir().joinpath(*parts)
    if not path.exists():
        raise MissingResourceError(f"Missing resource file: {path}")
    return path

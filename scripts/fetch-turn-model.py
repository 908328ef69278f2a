#!/usr/bin/env python3
"""Install step: put the smart-turn v3 weights into the package, from a PyPI wheel.

``pip download --no-deps`` fetches the pinned ``pipecat-ai`` wheel (about 12 MB) into a
temporary folder; only the ``.onnx`` file is taken out of it, checked against its SHA-256 and
written to ``app/ravatar_live/audio/models/``. pipecat-ai itself is not installed (it would bring
numba, openai and a pinned soxr). Does nothing when the right file is already there.
Usage: python scripts/fetch-turn-model.py [--force]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "app"))

from ravatar_live.audio.turn_weights import (
    SOURCE_MEMBER,
    SOURCE_REQUIREMENT,
    TurnModelUnavailableError,
    default_model_path,
    verify_model_file,
)


def fetch(target: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="turn-model-") as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                        "--only-binary=:all:", "--dest", tmp, SOURCE_REQUIREMENT], check=True)
        wheels = list(Path(tmp).glob("*.whl"))
        if len(wheels) != 1:
            raise SystemExit(f"expected one wheel for {SOURCE_REQUIREMENT}, got {wheels}")
        partial = target.with_suffix(".part")
        target.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(wheels[0]) as wheel, wheel.open(SOURCE_MEMBER) as src, \
                partial.open("wb") as dst:
            while block := src.read(1 << 20):
                dst.write(block)
        try:
            verify_model_file(partial)
        except TurnModelUnavailableError:
            partial.unlink()
            raise
        partial.replace(target)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="fetch even if the file is fine")
    args = parser.parse_args()
    target = default_model_path()
    try:
        if not args.force:
            verify_model_file(target)
            target.touch()  # newer than its recipe, so make does not ask again
            print(f"end-of-turn model already in place: {target}")
            return 0
    except TurnModelUnavailableError:
        pass
    try:
        fetch(target)
    except (TurnModelUnavailableError, subprocess.CalledProcessError, KeyError, OSError) as exc:
        print(f"fetch-turn-model: could not install the end-of-turn model: {exc}",
              file=sys.stderr)
        return 1
    print(f"end-of-turn model installed: {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Frozen build figures: clean build time, bundle size (on disk and as .tar.gz), and the frozen
app's start time to `startup complete` and to the first `ravatar-session-start` stream event.

    .venv/bin/python bench/bench_package.py            # clean build into a temp dir, 3 starts
    .venv/bin/python bench/bench_package.py --reuse    # measure dist/ravatar-live as it is
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parent.parent


def load_smoke() -> ModuleType:
    spec = importlib.util.spec_from_file_location("smoke_frozen",
                                                  REPO / "packaging" / "smoke_frozen.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["smoke_frozen"] = module
    spec.loader.exec_module(module)
    return module


def build(dist: Path, work: Path) -> float:
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "PyInstaller", "--noconfirm", "--clean",
                    "--log-level", "WARN", "--distpath", str(dist), "--workpath", str(work),
                    str(REPO / "packaging" / "ravatar-live.spec")], cwd=REPO, check=True)
    return time.monotonic() - started


def tree_size(root: Path) -> tuple[int, int]:
    files = [p for p in root.rglob("*") if p.is_file() and not p.is_symlink()]
    return sum(p.stat().st_size for p in files), len(files)


def targz_size(root: Path, scratch: Path) -> int:
    archive = scratch / "bundle.tar.gz"
    with tarfile.open(archive, "w:gz", compresslevel=6) as tar:
        tar.add(root, arcname=root.name)
    size = archive.stat().st_size
    archive.unlink()
    return size


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reuse", action="store_true", help="measure the existing dist/")
    parser.add_argument("--runs", type=int, default=3, help="frozen app starts to time")
    args = parser.parse_args()
    smoke = load_smoke()
    with tempfile.TemporaryDirectory(prefix="bench-package-") as tmp:
        scratch = Path(tmp)
        if args.reuse:
            bundle = REPO / "dist" / "ravatar-live"
            if not (bundle / "ravatar-live").is_file():
                print(f"no build at {bundle}: run `make package` or drop --reuse")
                return 1
            print("build time: (reused dist/, not measured)")
        else:
            seconds = build(scratch / "dist", scratch / "work")
            bundle = scratch / "dist" / "ravatar-live"
            print(f"build time (clean, {os.cpu_count()} cores): {seconds:.0f} s")
        size, count = tree_size(bundle)
        print(f"bundle: {size / 1e6:.0f} MB in {count} files")
        print(f"bundle as .tar.gz (-6): {targz_size(bundle, scratch) / 1e6:.0f} MB")

        to_startup: list[float] = []
        to_stream: list[float] = []
        for run in range(1, args.runs + 1):
            result = smoke.run_smoke([str(bundle / "ravatar-live"), *smoke.DEFAULT_APP_ARGS,
                                      "--voice-mode", "vad"], virtual_mic=True)
            if not result.passed:
                print(f"run {run}: smoke FAILED\n{result.explain()}")
                return 1
            to_startup.append(result.seconds[smoke.STARTUP])
            to_stream.append(result.seconds[smoke.STREAM_START])
            print(f"run {run}: startup complete {to_startup[-1]:.2f} s, first stream event "
                  f"{to_stream[-1]:.2f} s, whole run incl. close {result.wall_s:.1f} s")
        print(f"frozen start to 'startup complete': median {statistics.median(to_startup):.2f} s")
        print(f"frozen start to first 'ravatar-session-start': median "
              f"{statistics.median(to_stream):.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The script PyInstaller freezes: runs the same main() as the `ravatar-live` entry point."""

from __future__ import annotations

import multiprocessing
import sys

from ravatar_live.__main__ import main

if __name__ == "__main__":
    # No-op unless something spawns processes on Windows/macOS: a child must not rerun main().
    multiprocessing.freeze_support()
    sys.exit(main())

"""Leak campaign, full size: the real app process ended 50 times by SIGTERM, SIGINT, SIGKILL (then
relaunched) and by its window closing, at random points (starting, live, mid-take, mid-reply).
Prints every run and the number of leaked licenses (the simulator's live count after each run
and its relaunch). The CI test tests/e2e/test_app_leaks.py runs a smaller campaign of the same
code (tests/e2e/leak_campaign.py).

Needs pulseaudio, paplay, espeak-ng and sox (a private PulseAudio virtual microphone is started
for the run and stopped after it).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[1]
E2E = REPO / "tests" / "e2e"
sys.path.insert(0, str(REPO))  # the campaign imports tests.support


def load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def make_speech(directory: Path) -> Path:
    raw, padded = directory / "raw.wav", directory / "speech.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(raw),
                    "Hello, please tell me about the weather today."], check=True, timeout=30)
    subprocess.run(["sox", str(raw), str(padded), "pad", "0.3", "1"], check=True, timeout=30)
    return padded


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    missing = [exe for exe in ("pulseaudio", "paplay", "espeak-ng", "sox") if not shutil.which(exe)]
    if missing:
        print(f"cannot run: missing {', '.join(missing)}")
        return 1
    os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--disable-gpu --no-first-run")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")
    # The e2e conftest's PulseAudio recipe (virtual microphone "vmic" fed by sink "vsink").
    pulse = load("e2e_conftest", E2E / "conftest.py")
    campaign = load("leak_campaign", E2E / "leak_campaign.py")
    mic = pulse._start_pulseaudio()
    if isinstance(mic, str):
        print(f"cannot run: {mic}")
        return 1
    try:
        with tempfile.TemporaryDirectory(prefix="bench-leaks-") as tmp:
            work = Path(tmp)
            report = campaign.run_campaign(args.runs, speech=make_speech(work), workdir=work,
                                           seed=args.seed, progress=print)
    finally:
        os.kill(mic.pid, signal.SIGTERM)
        shutil.rmtree(mic.runtime_dir, ignore_errors=True)
    print(report.summary())
    for problem in report.problems:
        print(f"  problem: {problem}")
    print(f"LEAKS FOUND: {report.leaks} of {len(report.runs)} runs")
    return 0 if report.leaks == 0 else 2


if __name__ == "__main__":
    sys.exit(main())

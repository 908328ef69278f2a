"""Never leak a session: the REAL app process ended by SIGTERM, SIGINT, SIGKILL (then relaunched)
and by its window closing, at random points (starting, live, mid-take, mid-reply).

CI runs RUNS (every method x point combination at least once, then random ones) to stay within
about four minutes on 2 cores; `bench/bench_leaks.py` runs the full 50 and prints the leaks found.
See leak_campaign.py for how each run is driven and judged.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from leak_campaign import run_campaign  # type: ignore[import-not-found]  # tests/e2e on sys.path

pytestmark = pytest.mark.e2e

RUNS = 24


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> Path:
    espeak = shutil.which("espeak-ng")
    assert espeak, "espeak-ng is required (Debian: apt-get install espeak-ng)"
    raw = tmp_path_factory.mktemp("leak-speech") / "raw.wav"
    subprocess.run([espeak, "-v", "en-us", "-s", "150", "-w", str(raw),
                    "Hello, please tell me about the weather today."], check=True, timeout=30)
    padded = raw.with_name("speech.wav")
    subprocess.run(["sox", str(raw), str(padded), "pad", "0.3", "1"], check=True, timeout=30)
    return padded


@pytest.mark.timeout(420)
def test_no_license_leaks_whatever_ends_the_app(virtual_mic, speech, tmp_path) -> None:
    lines: list[str] = []
    report = run_campaign(RUNS, speech=speech, workdir=tmp_path, seed=20240525,
                          progress=lines.append)
    details = "\n".join(lines) + "\n" + report.summary()
    print(details)
    assert report.leaks == 0, f"licenses leaked:\n{details}"
    assert not report.problems, f"problems:\n{details}"
    reached = {r.phase for r in report.runs}
    # The random points really covered the lifecycle.
    assert {"starting", "live", "mid-take", "mid-reply"} <= reached, details
    assert {r.method for r in report.runs} == {"SIGTERM", "SIGINT", "SIGKILL", "close"}

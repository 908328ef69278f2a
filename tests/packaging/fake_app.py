"""A stand-in for the app process, for testing the smoke checker itself (packaging/smoke_frozen.py).

It is a real process that prints what a given scenario calls for. It replaces the app only where the
app cannot be made to misbehave on purpose (tracebacks, missing modules, hangs, wrong order).
Usage: python fake_app.py <scenario>
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

START = "INFO ravatar_live.ui: startup complete"
STREAM = "INFO ravatar_live.ui: stream event: ravatar-session-start"
ENDED = "INFO ravatar_live.live: live session ended"


def say(line: str) -> None:
    print(line, flush=True)


def main(scenario: str) -> int:
    # The checker promises a headless, isolated environment; refuse to run otherwise.
    env_ok = (
        os.environ.get("QT_QPA_PLATFORM") == "offscreen"
        and os.environ.get("RAVATAR_LIVE_EXIT_AFTER_S")
        and "PYTHONPATH" not in os.environ
        and "VIRTUAL_ENV" not in os.environ
        and os.environ.get("XDG_CONFIG_HOME", "").startswith(os.environ.get("HOME", "\0"))
    )
    if not env_ok:
        print("fake_app: environment is not the smoke test's", file=sys.stderr)
        return 3
    lines = {
        "good": [START, STREAM, ENDED],
        "out_of_order": [STREAM, START, ENDED],
        "no_stream": [START, ENDED],
        "missing_module": [START, "ModuleNotFoundError: No module named 'soxr'", STREAM, ENDED],
        "missing_library": [START, STREAM,
                            "libpulse.so.0: cannot open shared object file: No such file", ENDED],
    }.get(scenario, [START, STREAM, ENDED])
    for line in lines:
        say(line)
    if scenario == "traceback":
        print("Traceback (most recent call last):\n  File \"x.py\", line 1\nKeyError: 1",
              file=sys.stderr, flush=True)
    if scenario == "log_traceback":
        log = Path(os.environ["XDG_STATE_HOME"]) / "ravatar-live" / "log" / "ravatar-live.log"
        log.parent.mkdir(parents=True)
        log.write_text("ERROR boom\nTraceback (most recent call last):\n  ...\n")
    if scenario == "hang":
        time.sleep(600)
    if scenario == "orphan_helper":
        # Like QtWebEngineProcess outliving its parent: holds our stdout open after we exit.
        helper = subprocess.Popen(["sleep", "600"])
        (Path(os.environ["HOME"]) / "helper.pid").write_text(str(helper.pid))
    if scenario == "segfault":
        os.kill(os.getpid(), signal.SIGSEGV)
    return 1 if scenario == "exit_1" else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1]))

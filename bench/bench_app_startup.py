"""App figures: cold start to window shown and to the first `ravatar-session-start` (a first
start, with no state, and later starts), peak RSS while live, CPU while listening hands-free
(percent of one core).

Runs the real `python -m ravatar_live --start --voice-mode vad` (demo mode: embedded simulator)
headless (offscreen) a few times. For the hands-free CPU figure it starts a private PulseAudio
with a silent virtual microphone (DESIGN.md recipe) so the app really captures and runs its VAD;
without PulseAudio the figure is reported as not measured.
"""

from __future__ import annotations

import compileall
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import ClassVar

from tests.support.virtual_audio import VirtualAudio, start_virtual_audio

RUNS = 3
LISTEN_S = 10.0
CLK_TCK = os.sysconf("SC_CLK_TCK")


def tree_pids(root: int) -> list[int]:
    pids = [root]
    for pid in pids:
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            continue
        pids.extend(int(c) for c in children)
    return pids


def rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


def _without_bytecode_ban(environ: os._Environ[str]) -> dict[str, str]:
    """A user's start reads the app's compiled bytecode (written at install by `make run`, or by
    the first start): a PYTHONDONTWRITEBYTECODE inherited from a dev shell or CI would make every
    run here compile ~120 modules again (~0.3 s)."""
    return {k: v for k, v in environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


class Run:
    started: ClassVar[list[Run]] = []  # each app started: stopped at the end, whatever failed

    def __init__(self, env: dict[str, str], home: Path, voice_mode: str = "vad",
                 extra: tuple[str, ...] = ()) -> None:
        self.lines: list[tuple[float, str]] = []
        self.cond = threading.Condition()
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ravatar_live", "--start", "--voice-mode", voice_mode,
             "--log-dir", str(home / "logs"), *extra],
            env={**_without_bytecode_ban(os.environ), **env, "QT_QPA_PLATFORM": "offscreen",
                 "XDG_CONFIG_HOME": str(home / "c"), "XDG_STATE_HOME": str(home / "s")},
            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, errors="replace")
        Run.started.append(self)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            with self.cond:
                self.lines.append((time.monotonic() - self.t0, line))
                self.cond.notify_all()

    def wait(self, pattern: str, timeout_s: float = 60.0) -> float:
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout_s
        with self.cond:
            while True:
                for t, line in self.lines:
                    if regex.search(line):
                        return t
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError(f"no {pattern!r}:\n" + "".join(
                        line for _, line in self.lines[-20:]))
                self.cond.wait(0.5)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def main() -> None:
    compileall.compile_dir(Path(__file__).resolve().parents[1] / "app" / "ravatar_live", quiet=1)
    print("== demo mode: the simulator (with its WebRTC video encoder) runs inside the app")
    measure(())
    print("== external simulator: only the app's own work is in the app process")
    from ravatar_live.simulator.server import SimulatorConfig
    from ravatar_live.simulator.threaded import SimulatorThread

    with SimulatorThread(SimulatorConfig(port=0, transcribe=False, stream_voice=False)) as sim:
        measure(("--api-url", sim.base_url, "--project-id", "bench-project"))


def measure(extra: tuple[str, ...]) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench-app-"))
    try:  # the app's own output goes to the microphone's sink, as in the end-to-end layer
        audio: VirtualAudio | None = start_virtual_audio(default_sink="vsink")
    except RuntimeError as exc:
        print(f"no virtual microphone ({exc}): start-up figures only")
        audio = None
    pulse = audio.env if audio else None
    env = {"QTWEBENGINE_DISABLE_SANDBOX": "1"} if os.geteuid() == 0 else {}
    env.update(pulse or {})
    shown, first_start, peak_main, peak_tree, cpu = [], [], [], [], []
    cpu_ptt: list[float] = []
    later_shown: list[float] = []
    later_start: list[float] = []
    try:
        for i in range(RUNS):
            run = Run(env, tmp / f"run{i}", extra=extra)
            shown.append(run.wait(r"startup complete"))
            first_start.append(run.wait(r"stream event: ravatar-session-start"))
            listening = pulse is not None
            if listening:
                run.wait(r"microphone open")
            pids = tree_pids(run.proc.pid)
            c0, t0 = cpu_s(run.proc.pid), time.monotonic()
            main_peak = tree_peak = 0
            end = t0 + LISTEN_S
            while time.monotonic() < end:  # sampling RSS and CPU over the listening window
                pids = tree_pids(run.proc.pid)
                main_peak = max(main_peak, rss_kb(run.proc.pid))
                tree_peak = max(tree_peak, sum(rss_kb(p) for p in pids))
                time.sleep(0.5)
            if listening:
                cpu.append(100 * (cpu_s(run.proc.pid) - c0) / (time.monotonic() - t0))
            peak_main.append(main_peak / 1024)
            peak_tree.append(tree_peak / 1024)
            run.stop()
        # Later starts, on the state a first start left (the stream player that worked for
        # that host: a H.264 stream goes straight to the native player).
        for i in range(RUNS + 1):
            run = Run(env, tmp / "later")
            at = run.wait(r"startup complete"), run.wait(r"stream event: ravatar-session-start")
            if not i:  # what worked is remembered once a player shows a frame
                run.wait(r"player showed its first frame")
            run.stop()
            if i:  # the first of them leaves the state
                later_shown.append(at[0])
                later_start.append(at[1])
        # The same live session without hands-free (mic open, no VAD): what the VAD costs.
        for i in range(RUNS if pulse else 0):
            run = Run(env, tmp / f"ptt{i}", voice_mode="push-to-talk", extra=extra)
            run.wait(r"stream event: ravatar-session-start")
            run.wait(r"microphone open")
            c0, t0 = cpu_s(run.proc.pid), time.monotonic()
            time.sleep(LISTEN_S)  # the measurement window
            cpu_ptt.append(100 * (cpu_s(run.proc.pid) - c0) / (time.monotonic() - t0))
            run.stop()
    finally:
        for started in Run.started:
            started.stop()
        if audio:
            audio.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    def fmt(values: list[float], unit: str) -> str:
        return (f"median {statistics.median(values):.2f} {unit} "
                f"(min {min(values):.2f}, max {max(values):.2f}, n={len(values)})")

    print("app cold start -> window shown:            ", fmt(shown, "s"))
    print("app cold start -> first ravatar-session-start:", fmt(first_start, "s"))
    print("later start -> window shown:               ", fmt(later_shown, "s"))
    print("later start -> first ravatar-session-start:", fmt(later_start, "s"))
    print("peak RSS while live, app process:          ", fmt(peak_main, "MiB"))
    print("peak RSS while live, app + QtWebEngine children:", fmt(peak_tree, "MiB"))
    if cpu:
        print(f"CPU while listening hands-free ({LISTEN_S:.0f} s, app process, % of one core):",
              fmt(cpu, "%"))
        print(f"CPU while live, mic open, hands-free off ({LISTEN_S:.0f} s):", fmt(cpu_ptt, "%"))
    else:
        print("CPU while listening hands-free: not measured (no PulseAudio virtual microphone)")


if __name__ == "__main__":
    main()

"""End-to-end fixtures: a PulseAudio virtual microphone (DESIGN.md recipe) for the whole session.

A null sink ``vsink`` whose monitor is remapped into a real-looking source ``vmic`` (QtMultimedia
hides bare monitor sources); whatever ``paplay -d vsink`` plays is what every capture backend
hears. The daemon runs as its own process in a temp dir, found via ``PULSE_SERVER``; it is
started when this conftest loads (before any Qt or PortAudio code can cache "no audio server")
and killed by its pid at the end of the session. Works as root with no D-Bus.

PulseAudio's default resampler (speex-float-1) makes the captured waveform depend on the phase
of its 48 kHz -> 16 kHz decimation (measured: correlation with the played speech anywhere from
0.69 to 0.9996 run to run); ``soxr-vhq`` makes the virtual device transparent.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

_PULSE: dict[str, object] = {}


@dataclass
class VirtualMic:
    runtime_dir: Path
    pid: int

    async def play(self, wav: Path) -> None:
        """Play a WAV into the virtual microphone and wait until it has been played."""
        proc = await asyncio.create_subprocess_exec(
            "paplay", "-d", "vsink", str(wav), stderr=asyncio.subprocess.PIPE)
        _, err = await proc.communicate()
        assert proc.returncode == 0, f"paplay failed: {err.decode(errors='replace')}"


def _start_pulseaudio() -> VirtualMic | str:
    missing = [exe for exe in ("pulseaudio", "pactl", "paplay") if shutil.which(exe) is None]
    if missing:
        return f"missing {', '.join(missing)} (Debian: apt-get install pulseaudio pulseaudio-utils)"
    run_dir = Path(tempfile.mkdtemp(prefix="ravatar-pulse-"))
    env = {**os.environ, "PULSE_RUNTIME_PATH": str(run_dir), "HOME": str(run_dir),
           "PULSE_STATE_PATH": str(run_dir)}
    env.pop("PULSE_SERVER", None)
    proc = subprocess.run(
        ["pulseaudio", "--daemonize=yes", "--exit-idle-time=-1", "-n", "--use-pid-file=yes",
         "--disallow-exit", "--resample-method=soxr-vhq",
         "-L", f"module-native-protocol-unix socket={run_dir}/native auth-anonymous=1",
         "-L", "module-null-sink sink_name=vsink rate=48000",
         "-L", "module-remap-source master=vsink.monitor source_name=vmic",
         "-L", "module-always-sink"],
        env=env, capture_output=True, text=True, timeout=30, check=False)
    socket_path = run_dir / "native"
    deadline = time.monotonic() + 10
    while not socket_path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)  # the daemon forks; its socket appears when it is ready (no event)
    pid_file = run_dir / "pid"
    if proc.returncode != 0 or not socket_path.exists() or not pid_file.exists():
        return f"pulseaudio did not start: {proc.stderr.strip()[-500:]}"
    # Clients must never autospawn a stray daemon of their own once ours is gone.
    client_conf = run_dir / "client.conf"
    client_conf.write_text("autospawn = no\n")
    os.environ["PULSE_CLIENTCONFIG"] = str(client_conf)
    os.environ["PULSE_SERVER"] = f"unix:{socket_path}"
    os.environ["PULSE_RUNTIME_PATH"] = str(run_dir)
    for cmd in (["pactl", "set-default-sink", "vsink"], ["pactl", "set-default-source", "vmic"]):
        subprocess.run(cmd, check=True, timeout=10, capture_output=True)
    return VirtualMic(run_dir, int(pid_file.read_text().split()[0]))


def pytest_configure(config: pytest.Config) -> None:
    _PULSE["mic"] = _start_pulseaudio()


def pytest_unconfigure(config: pytest.Config) -> None:
    mic = _PULSE.pop("mic", None)
    if isinstance(mic, VirtualMic):
        with contextlib.suppress(ProcessLookupError):
            os.kill(mic.pid, signal.SIGTERM)
        shutil.rmtree(mic.runtime_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def virtual_mic() -> VirtualMic:
    mic = _PULSE.get("mic")
    if not isinstance(mic, VirtualMic):
        pytest.fail(f"The PulseAudio virtual microphone is not available: {mic}")
    return mic

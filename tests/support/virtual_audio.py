"""A private PulseAudio daemon with a virtual microphone (DESIGN.md recipe), the one place the
suite and the benches start one: a null sink `vsink` whose monitor is remapped into the source
`vmic` (QtMultimedia hides bare monitor sources), so whatever `paplay -d vsink` plays is what
every capture backend hears, and a second null sink `speakers`. `default_sink` picks where what
the app (or a browser) plays goes: `speakers` keeps the avatar's voice out of the microphone (a
room without echo); `vsink` is what the end-to-end layer has always used. Works as root, no
D-Bus, no sound card; the daemon is stopped by its own pid.

PulseAudio's default resampler (speex-float-1) makes the captured waveform depend on the phase
of its 48 kHz -> 16 kHz decimation (measured: correlation with the played speech anywhere from
0.69 to 0.9996 run to run); `soxr-vhq` makes the virtual device transparent.
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
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass
class VirtualAudio:
    run_dir: Path
    pid: int
    env: dict[str, str]  # what a client process needs to find this daemon

    def play(self, wav: Path) -> None:
        """Play a WAV into the virtual microphone; returns once it has been played."""
        subprocess.run(["paplay", "-d", "vsink", str(wav)], env={**os.environ, **self.env},
                       check=True, capture_output=True, timeout=120)

    async def play_async(self, wav: Path) -> None:
        """`play` for code on an event loop."""
        proc = await asyncio.create_subprocess_exec(
            "paplay", "-d", "vsink", str(wav), env={**os.environ, **self.env},
            stderr=asyncio.subprocess.PIPE)
        _, err = await proc.communicate()
        assert proc.returncode == 0, f"paplay failed: {err.decode(errors='replace')}"

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGTERM)
        shutil.rmtree(self.run_dir, ignore_errors=True)


def start_virtual_audio(default_sink: str = "speakers") -> VirtualAudio:
    """Start the daemon; RuntimeError, with what to install, when it cannot."""
    missing = [exe for exe in ("pulseaudio", "pactl", "paplay") if shutil.which(exe) is None]
    if missing:
        raise RuntimeError(f"missing {', '.join(missing)} "
                           "(Debian: apt-get install pulseaudio pulseaudio-utils)")
    run_dir = Path(tempfile.mkdtemp(prefix="ravatar-pulse-"))
    daemon_env = {**os.environ, "PULSE_RUNTIME_PATH": str(run_dir), "HOME": str(run_dir),
                  "PULSE_STATE_PATH": str(run_dir)}
    daemon_env.pop("PULSE_SERVER", None)
    done = subprocess.run(
        ["pulseaudio", "--daemonize=yes", "--exit-idle-time=-1", "-n", "--use-pid-file=yes",
         "--disallow-exit", "--resample-method=soxr-vhq",
         "-L", f"module-native-protocol-unix socket={run_dir}/native auth-anonymous=1",
         "-L", "module-null-sink sink_name=vsink rate=48000",
         "-L", "module-remap-source master=vsink.monitor source_name=vmic",
         "-L", "module-null-sink sink_name=speakers rate=48000",
         "-L", "module-always-sink"],
        env=daemon_env, capture_output=True, text=True, timeout=30, check=False)
    socket_path, pid_file = run_dir / "native", run_dir / "pid"
    deadline = time.monotonic() + 10
    while not socket_path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)  # the daemon forks; its socket appears when it is ready (no event)
    if done.returncode != 0 or not socket_path.exists() or not pid_file.exists():
        shutil.rmtree(run_dir, ignore_errors=True)
        raise RuntimeError(f"pulseaudio did not start: {done.stderr.strip()[-500:]}")
    client_conf = run_dir / "client.conf"
    client_conf.write_text("autospawn = no\n")  # never a stray daemon of the client's own
    env = {"PULSE_SERVER": f"unix:{socket_path}", "PULSE_RUNTIME_PATH": str(run_dir),
           "PULSE_CLIENTCONFIG": str(client_conf)}
    for cmd in (["pactl", "set-default-sink", default_sink],
                ["pactl", "set-default-source", "vmic"]):
        subprocess.run(cmd, env={**os.environ, **env}, check=True, timeout=10,
                       capture_output=True)
    return VirtualAudio(run_dir, int(pid_file.read_text().split()[0]), env)


@contextlib.contextmanager
def virtual_audio_in_this_process(default_sink: str = "speakers") -> Iterator[VirtualAudio]:
    """Start the daemon and point this process's audio clients at it until the block ends."""
    audio = start_virtual_audio(default_sink)
    saved = {name: os.environ.get(name) for name in audio.env}
    os.environ.update(audio.env)
    try:
        yield audio
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        audio.stop()

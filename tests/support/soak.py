"""A long live session with the real app process: voice takes through the virtual microphone and
typed messages through the window, with the memory (PSS per process) and CPU of the app's
process tree read as it goes. Shared by bench/bench_soak.py (60 minutes) and
tests/e2e/test_soak.py (a few minutes, bounded by turns).

Each turn waits for its reply (the app's "reply received" log line) before the next begins, so a
lost turn is seen as one: a take that is never sent, or a reply that never comes within
REPLY_TIMEOUT_S. A voice turn also lets the avatar finish speaking first, as a person would
(talking over it is the barge-in test's job, tests/e2e/test_echo_e2e.py): the simulator's count
of samples the avatar spoke must stand still for QUIET_S. Errors are the app's ERROR/CRITICAL log
lines and tracebacks.

Typed messages go in as a person types them, under Xvfb: xdotool focuses the window, presses
Ctrl+L (the message box), types the words and Return.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from ravatar_live.simulator.server import RunningSimulator
from ravatar_live.simulator.threaded import SimulatorThread
from tests.support.app_process import AppProcess
from tests.support.process_tree import TreeCpu, process_name, tree_private_kib, tree_pss_kib

REPLY_TIMEOUT_S = 45.0
QUIET_S = 0.6  # the avatar's voice has not advanced this long: its reply is over
SENTENCES = ("What is the weather like today?", "Tell me something about the sea.",
             "How far away is the moon?", "Which book would you recommend?")
TYPED = ("Hello there, how are you?", "Thank you, that was helpful.")
_ERROR_LINE = re.compile(r"^\S+ \S+ (ERROR|CRITICAL) |Traceback \(most recent call last\)")


def stream_players_total(sim: SimulatorThread,
                         fact: Literal["frames_sent", "samples_spoken"]) -> int:
    """One counter of the simulator's stream players (e.g. "frames_sent"), summed over the
    players of its live licenses."""
    def count(running: RunningSimulator) -> int:
        return sum(int(player[fact]) for license_id in running.live_license_ids()
                   for player in running.stream_players(license_id))

    return sim.call(count)


def avatar_samples_spoken(sim: SimulatorThread) -> int:
    """How many samples the simulator's avatar has spoken so far, over its live licenses."""
    return stream_players_total(sim, "samples_spoken")


def make_speech(directory: Path) -> list[Path]:
    """One WAV per sentence (espeak-ng), with a second of silence before and after, as a person
    pauses around what they say."""
    espeak, sox = shutil.which("espeak-ng"), shutil.which("sox")
    assert espeak and sox, "espeak-ng and sox are needed (Debian: apt-get install espeak-ng sox)"
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for number, sentence in enumerate(SENTENCES):
        raw, padded = directory / f"raw{number}.wav", directory / f"speech{number}.wav"
        subprocess.run([espeak, "-v", "en-us", "-s", "140", "-w", str(raw), sentence],
                       check=True, timeout=30)
        subprocess.run([sox, str(raw), str(padded), "pad", "1", "1"], check=True, timeout=30)
        paths.append(padded)
    return paths


@dataclass
class Sample:
    """The app's process tree at one moment of the soak."""

    at_s: float  # since the soak began
    turns: int  # voice and typed turns done so far
    pss_mib: float  # the whole tree
    main_mib: float  # the app's own process
    by_process: dict[str, float]  # PSS per process name (children of one kind added up)
    cpu: float  # % of one core since the previous sample
    private_mib: float  # the whole tree's private memory (what a leak grows; see process_tree)


@dataclass
class SoakLog:
    samples: list[Sample] = field(default_factory=list)
    voice_turns: int = 0
    typed_turns: int = 0
    lost: list[str] = field(default_factory=list)  # what each lost turn was

    def errors(self, app: AppProcess) -> list[str]:
        return [line for line in app.text().splitlines() if _ERROR_LINE.search(line)]

    @property
    def turns(self) -> int:
        return self.voice_turns + self.typed_turns


class Soak:
    """Drives one live app process (already started with `--start --voice-mode vad`)."""

    def __init__(self, app: AppProcess, *, display: str, play: Callable[[Path], None],
                 speech: list[Path], avatar_spoken: Callable[[], int]) -> None:
        self.app = app
        self._avatar_spoken = avatar_spoken  # samples the simulator's avatar has spoken so far
        self.display = display
        self.play = play
        self.speech = speech
        self.log = SoakLog()
        self._started = time.monotonic()
        self._cpu = TreeCpu(app.proc.pid)
        self._cpu.start()

    # --- turns ---------------------------------------------------------------------------------
    def _replies(self) -> int:
        return self._count(r"reply received")

    def _count(self, pattern: str) -> int:
        regex = re.compile(pattern)
        return sum(1 for line in self.app.text().splitlines() if regex.search(line))

    def _wait_count(self, pattern: str, at_least: int, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while self._count(pattern) < at_least:
            if time.monotonic() > deadline or self.app.proc.poll() is not None:
                return False
            self.app.poll_for(r"$^", 0.2)  # wakes on the next log line (or 0.2 s)
        return True

    def wait_avatar_quiet(self) -> None:
        """Until the avatar's voice has stood still for QUIET_S (at most REPLY_TIMEOUT_S)."""
        deadline = time.monotonic() + REPLY_TIMEOUT_S
        last, still_since = self._avatar_spoken(), time.monotonic()
        while time.monotonic() < deadline:
            self.app.poll_for(r"$^", 0.1)  # the simulator's counter has no event: look again
            spoken = self._avatar_spoken()
            if spoken != last:
                last, still_since = spoken, time.monotonic()
            elif time.monotonic() - still_since >= QUIET_S:
                return

    def voice_turn(self) -> bool:
        """Speak one sentence into the microphone; True when it was sent and answered."""
        self.wait_avatar_quiet()
        replies, takes = self._replies(), self._count(r"voice take started")
        self.play(self.speech[self.log.turns % len(self.speech)])
        self.log.voice_turns += 1
        if not self._wait_count(r"voice take started", takes + 1, REPLY_TIMEOUT_S):
            self.log.lost.append(f"voice turn {self.log.voice_turns}: no take was started")
            return False
        if not self._wait_count(r"reply received", replies + 1, REPLY_TIMEOUT_S):
            self.log.lost.append(f"voice turn {self.log.voice_turns}: no reply")
            return False
        return True

    def typed_turn(self) -> bool:
        """Type one message into the window's message box; True when it was answered."""
        replies = self._replies()
        text = TYPED[self.log.typed_turns % len(TYPED)]
        env = {"DISPLAY": self.display}
        window = subprocess.run(  # the shown top-level (Qt makes hidden helper windows too)
            ["xdotool", "search", "--onlyvisible", "--name", "RAVATAR Live"], env=env,
            capture_output=True, text=True, timeout=30, check=True).stdout.split()[0]
        for command in (["windowfocus", "--sync", window], ["key", "ctrl+l"],
                        ["type", "--delay", "20", text], ["key", "Return"]):
            subprocess.run(["xdotool", *command], env=env, check=True, timeout=60,
                           capture_output=True)
        self.log.typed_turns += 1
        if not self._wait_count(r"reply received", replies + 1, REPLY_TIMEOUT_S):
            self.log.lost.append(f"typed turn {self.log.typed_turns}: no reply")
            return False
        return True

    # --- figures -------------------------------------------------------------------------------
    def sample(self) -> Sample:
        """PSS of every process in the app's tree now, CPU since the previous sample."""
        cpu = self._cpu.percent()
        self._cpu.start()
        pss = tree_pss_kib(self.app.proc.pid)
        by_process: dict[str, float] = {}
        for pid, kib in pss.items():
            name = process_name(pid)
            by_process[name] = by_process.get(name, 0.0) + kib / 1024
        sample = Sample(time.monotonic() - self._started, self.log.turns,
                        sum(pss.values()) / 1024, pss.get(self.app.proc.pid, 0) / 1024,
                        by_process, cpu, tree_private_kib(self.app.proc.pid) / 1024)
        self.log.samples.append(sample)
        return sample

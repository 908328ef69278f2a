"""The leak campaign: end the REAL app process in every way at random points, count leaks.

Shared by tests/e2e/test_app_leaks.py (a CI-sized run) and bench/bench_leaks.py (the full 50).
No pytest here. One simulator (its own thread, as a remote service) outlives every app process;
what it counts is the proof.

Each run launches `python -m ravatar_live --start --voice-mode vad` headless (offscreen) against
the simulator, plays speech into the PulseAudio virtual microphone once the session is live (so a
take and a reply happen), and ends the process at a random moment after one of four anchors:
  starting   "license journal checked": /startLiveSession goes out next, and the simulator is
             told to hold it START_DELAY_S, so the end lands while it is on the wire
  live       "live session <id> started" (the license is held)
  mid-take   "voice take started" (PCM chunks on the wire)
  mid-reply  "take finished" (the reply is still on its way: the simulator waits REPLY_DELAY_S)
by SIGTERM, SIGINT, SIGKILL or the window closing itself (RAVATAR_LIVE_EXIT_AFTER_S, a random
delay from launch: its phase is read from the log afterwards). The phase actually reached is
taken from the log, not assumed. After a graceful end the simulator must show no live license at
once; after SIGKILL (and after any graceful end that left one) the app is launched once more,
which must end the journaled license. The only sleep is the deliberately random kill delay.

One case no client can recover: SIGKILL while /startLiveSession is on the wire. The server hands
out a license to a process that is gone and never learned its id (RAVATAR has no way to list a
user's licenses), so no journal can hold it; only the service's idle timeout reclaims it. Such a
license (live, and its id nowhere in the app's log) is counted as `unknowable`, apart from leaks.
"""

from __future__ import annotations

import random
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ravatar_live.simulator.server import SimulatorConfig
from ravatar_live.simulator.threaded import SimulatorThread
from tests.support.app_process import AppProcess, secrets_in

METHODS = ("SIGTERM", "SIGINT", "SIGKILL", "close")
POINTS = ("starting", "live", "mid-take", "mid-reply")
ANCHORS = {
    "starting": r"license journal checked",
    "live": r"live session license-\S+ started",
    "mid-take": r"voice take started",
    "mid-reply": r"take finished",
}
REPLY_DELAY_S = 1.5
START_DELAY_S = 0.4
# Upper bounds of the random kill delay after each anchor, in seconds.
KILL_WINDOW_S = {"starting": START_DELAY_S + 0.1, "live": 1.0, "mid-take": 1.2,
                 "mid-reply": REPLY_DELAY_S}
PROJECT_ID = "leak-campaign"
LINE_TIMEOUT_S = 60.0


def leak_simulator() -> SimulatorThread:
    """The remote service for a campaign: many licenses (a leak must not cause 503s later),
    no WebRTC encoding or speech synthesis (CPU), a reply delay that makes room for mid-reply."""
    return SimulatorThread(SimulatorConfig(
        port=0, max_licenses=200, transcribe=False, stream_webrtc=False, stream_voice=False,
        reply_delay_s=REPLY_DELAY_S, utterance_gap_s=0.5))


def launch(args: list[str], home: Path, env: dict[str, str]) -> AppProcess:
    """One headless app process (offscreen), read line by line."""
    return AppProcess(args, home=home, env={**env, "QT_QPA_PLATFORM": "offscreen"})


@dataclass
class RunResult:
    number: int
    method: str
    point: str  # the anchor aimed at
    phase: str  # the last phase the log shows before the end
    delay_s: float
    exit_code: int | None
    live_after_exit: int
    relaunched: bool
    live_after_relaunch: int
    #: Licenses still live whose id the app never learned (SIGKILL mid-request, see above).
    unknowable: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def leaked(self) -> bool:
        """A license the app knew of, still live after the run and its relaunch."""
        return self.live_after_relaunch - self.unknowable > 0

    def describe(self) -> str:
        outcome = "LEAK" if self.leaked else (
            f"ok ({self.unknowable} unknowable)" if self.unknowable else "ok")
        extra = f" problems: {'; '.join(self.problems)}" if self.problems else ""
        return (f"run {self.number:2d} {self.method:<7} aim {self.point:<9} reached "
                f"{self.phase:<9} after {self.delay_s:4.2f} s  exit {self.exit_code}  live "
                f"{self.live_after_exit}->{self.live_after_relaunch}"
                f"{' (relaunched)' if self.relaunched else ''}  {outcome}{extra}")


@dataclass
class CampaignReport:
    runs: list[RunResult]
    seconds: float

    @property
    def leaks(self) -> int:
        return sum(r.leaked for r in self.runs)

    @property
    def unknowable(self) -> int:
        return sum(r.unknowable > 0 for r in self.runs)

    @property
    def problems(self) -> list[str]:
        return [f"run {r.number}: {p}" for r in self.runs for p in r.problems]

    def summary(self) -> str:
        phases = Counter((r.method, r.phase) for r in self.runs)
        table = ", ".join(f"{m}/{p}: {n}" for (m, p), n in sorted(phases.items()))
        return (f"{len(self.runs)} runs in {self.seconds:.0f} s, leaks found: {self.leaks}, "
                f"unknowable (SIGKILL while /startLiveSession was on the wire): "
                f"{self.unknowable}, problems: {len(self.problems)}\n"
                f"  method/phase reached: {table}")


def _phase_of(run: AppProcess, ended_at_line: int | None) -> str:
    """The latest phase the log shows before the end began (the signal, or the window's own
    "shutting down" line)."""
    reached = "before-start"
    for point in POINTS:
        if run.seen(ANCHORS[point], before=ended_at_line):
            reached = point
    return reached


def _plan(runs: int, rng: random.Random) -> list[tuple[str, str]]:
    """Every method x point combination once (shuffled), then random ones."""
    combos = [(m, p) for m in METHODS for p in POINTS]
    rng.shuffle(combos)
    while len(combos) < runs:
        combos.append((rng.choice(METHODS), rng.choice(POINTS)))
    return combos[:runs]


def _app_args(base_url: str, *extra: str) -> list[str]:
    return ["--api-url", base_url, "--project-id", PROJECT_ID, *extra]


def _play(speech: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(["paplay", "-d", "vsink", str(speech)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def one_run(number: int, method: str, point: str, *, sim: SimulatorThread, home: Path,
            speech: Path, rng: random.Random) -> RunResult:
    env: dict[str, str] = {}
    delay = rng.uniform(0.0, KILL_WINDOW_S[point])
    if method == "close":
        # The window closes itself this long after it is shown; the phase is read afterwards.
        delay = rng.uniform(0.0, 9.0)
        env["RAVATAR_LIVE_EXIT_AFTER_S"] = f"{delay:.2f}"
    problems: list[str] = []
    if point == "starting":
        # The license is handed out at once; only the answer is late (faults.answer_delay_s).
        sim.call(lambda s: s.inject_fault("/startLiveSession", answer_delay_s=START_DELAY_S))
    app = launch(_app_args(sim.base_url, "--start", "--voice-mode", "vad"), home, env)
    player: subprocess.Popen[bytes] | None = None
    exit_code: int | None = None
    ended_at_line: int | None = None
    try:
        if app.poll_for(r"startup complete") is None:
            problems.append("the app never finished starting")
        # Speech once live, so that takes and replies happen in every run that gets there.
        wants_speech = delay > 2.0 if method == "close" else point != "starting"
        if wants_speech and app.poll_for(ANCHORS["live"]) is not None \
                and app.proc.poll() is None:
            player = _play(speech)
        if method == "close":
            exit_code = app.wait_exit(45)
        else:
            if app.poll_for(ANCHORS[point]) is None and app.proc.poll() is None:
                problems.append(f"never reached {point!r}")
            time.sleep(delay)  # the deliberately random kill point
            ended_at_line = app.line_count()
            app.signal(getattr(signal, method))
            exit_code = app.wait_exit(45)
    except subprocess.TimeoutExpired:
        problems.append("the app did not exit within 45 s")
    finally:
        app.kill()
        if player is not None:
            player.kill()
            player.wait(timeout=10)
    if method == "close":
        ended_at_line = app.index_of(r"shutting down \(session")
    phase = _phase_of(app, ended_at_line)
    log = app.text()
    if method != "SIGKILL":
        if exit_code != 0:
            problems.append(f"exit code {exit_code}")
        if "Traceback" in log:
            problems.append("a traceback in the log")
    tokens = sim.call(lambda s: s.issued_tokens)
    leaked_secrets = secrets_in(log, tokens)
    if leaked_secrets:
        problems.append(f"secrets in the log: {', '.join(leaked_secrets)}")
    sim.call(lambda s: s.clear_faults())
    live_ids = sim.call(lambda s: s.live_license_ids())
    live_after_exit = len(live_ids)
    # Only SIGKILL can leave a license the app never heard of; after a graceful end it is a leak.
    unknown = {lid for lid in live_ids if lid not in log} if method == "SIGKILL" else set()
    live_after_relaunch = live_after_exit
    relaunched = method == "SIGKILL" or live_after_exit > 0
    if method != "SIGKILL" and live_after_exit > 0:
        problems.append(f"{live_after_exit} license(s) live right after a graceful exit")
    if relaunched:
        again = launch(_app_args(sim.base_url), home, {})
        try:
            if again.poll_for(r"license journal checked") is None:
                problems.append("the relaunch never checked the license journal")
            again.signal(signal.SIGTERM)
            if again.wait_exit(45) != 0:
                problems.append("the relaunch did not exit cleanly")
        finally:
            again.kill()
        live_after_relaunch = sim.call(lambda s: s.stats())["live"]
    still_unknown = len(unknown & set(sim.call(lambda s: s.live_license_ids())))
    journal = home / "state" / "ravatar-live" / "open-licenses.json"
    if journal.exists() and journal.read_text().strip() not in ("", "[]"):
        problems.append(f"the journal still lists licenses: {journal.read_text()[:200]}")
    if live_after_relaunch:
        # Free them so the next run starts from zero (and this leak is counted once).
        for lid in sim.call(lambda s: s.live_license_ids()):
            sim.run(_end_on_server(sim, lid))
    return RunResult(number, method, point, phase, delay, exit_code, live_after_exit,
                     relaunched, live_after_relaunch, still_unknown, problems)


async def _end_on_server(sim: SimulatorThread, license_id: str) -> None:
    await sim.sim.expire_license(license_id)


def run_campaign(runs: int, *, speech: Path, workdir: Path, seed: int | None = None,
                 progress: Callable[[str], None] | None = None) -> CampaignReport:
    """`runs` app processes ended at random points; needs PULSE_SERVER (the virtual mic)."""
    rng = random.Random(seed)
    started = time.monotonic()
    results: list[RunResult] = []
    with leak_simulator() as sim:
        for number, (method, point) in enumerate(_plan(runs, rng), start=1):
            result = one_run(number, method, point, sim=sim, home=workdir / f"run-{number}",
                             speech=speech, rng=rng)
            results.append(result)
            if progress is not None:
                progress(result.describe())
    return CampaignReport(results, time.monotonic() - started)

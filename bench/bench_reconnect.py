"""Reconnect time of ReconnectingChatSocket after the server comes back.

The real simulator is stopped and started again on the same port `--restarts` times (it signs
with a new secret each time, so every reconnect also renews the token after one 403). For each
restart it measures, on the loop clock:
  detect   server stopped -> state "reconnecting" (how fast a clean server close is seen)
  return   server listening again -> state "connected" (the figure the back-off policy shapes)
  reply    server listening again -> the first reply to a text typed while it was down
and prints P50 / P95 / max per back-off policy (the default 0.5 s base / 15 s cap, and one more).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import time
from dataclasses import replace

import aiohttp

from ravatar_live.api.backoff import CHAT_RECONNECT, BackoffPolicy
from ravatar_live.api.models import ChatContext, IncomingReply, text_message
from ravatar_live.api.reconnect import (
    LinkState,
    LinkStatus,
    ReconnectingChatSocket,
)
from ravatar_live.api.rest import RavatarClient
from ravatar_live.simulator.server import RunningSimulator, SimulatorConfig, start_simulator

PROJECT_ID = "0123456789abcdef01234567"
USER_ID = "fedcba9876543210fedcba98"


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def summary(label: str, values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return (f"  {label:<8} P50 {percentile(ms, 50):7.0f} ms   P95 {percentile(ms, 95):7.0f} ms"
            f"   max {max(ms):7.0f} ms   mean {statistics.fmean(ms):7.0f} ms")


async def run(policy: BackoffPolicy, restarts: int, down_s: float) -> dict[str, list[float]]:
    loop = asyncio.get_running_loop()
    sim: RunningSimulator = await start_simulator(SimulatorConfig(transcribe=False))
    port = sim.port
    seen: dict[LinkState, float] = {}
    changed = asyncio.Event()

    def on_state(status: LinkStatus) -> None:
        seen[status.state] = loop.time()
        changed.set()

    async def wait_state(state: LinkState) -> float:
        while state not in seen:
            changed.clear()
            await changed.wait()
        return seen[state]

    figures: dict[str, list[float]] = {"detect": [], "return": [], "reply": [], "attempts": []}
    async with aiohttp.ClientSession() as http:
        client = RavatarClient(http, sim.base_url, PROJECT_ID, USER_ID, request_timeout_s=5.0)
        info = await client.connection()
        ctx = ChatContext(avatar_id=info.avatars[0].id, user_id=USER_ID, language="en")
        sock = ReconnectingChatSocket.from_client(client, backoff=policy, on_state=on_state)
        await sock.connect()
        replies: asyncio.Queue[float] = asyncio.Queue()

        async def read() -> None:
            async for message in sock.messages():
                if isinstance(message, IncomingReply) and "while down" in message.text:
                    replies.put_nowait(loop.time())

        reader = loop.create_task(read())
        try:
            for i in range(restarts):
                seen.clear()
                attempts_before = sock.attempts
                stopped = loop.time()
                await sim.close()
                figures["detect"].append(await wait_state(LinkState.RECONNECTING) - stopped)
                sock.send_nowait(text_message(ctx, f"typed while down {i}"))
                await asyncio.sleep(down_s)  # the outage itself
                sim = await start_simulator(SimulatorConfig(port=port, transcribe=False))
                back = loop.time()
                async with asyncio.timeout(policy.cap_s * 2 + 30):
                    figures["return"].append(await wait_state(LinkState.CONNECTED) - back)
                    figures["reply"].append(await replies.get() - back)
                figures["attempts"].append(float(sock.attempts - attempts_before))
        finally:
            await sock.close()
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
            await sim.close()
    return figures


async def main_async(args: argparse.Namespace) -> None:
    policies = [CHAT_RECONNECT, replace(CHAT_RECONNECT, base_s=args.base_s, cap_s=args.cap_s)]
    for policy in policies:
        started = time.perf_counter()
        figures = await run(policy, args.restarts, args.down_s)
        took = time.perf_counter() - started
        print(f"policy base {policy.base_s:g} s, cap {policy.cap_s:g} s, full jitter; "
              f"{args.restarts} restarts on the same port, {args.down_s:g} s down each "
              f"({took:.1f} s wall)")
        for key in ("detect", "return", "reply"):
            print(summary(key, figures[key]))
        print(f"  attempts per outage: mean {statistics.fmean(figures['attempts']):.1f}, "
              f"max {max(figures['attempts']):.0f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--restarts", type=int, default=20)
    ap.add_argument("--down-s", type=float, default=1.0, help="outage length per restart")
    ap.add_argument("--base-s", type=float, default=0.1, help="second policy's base delay")
    ap.add_argument("--cap-s", type=float, default=2.0, help="second policy's delay cap")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()

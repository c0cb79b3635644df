"""A drop storm: a fake Binance that cuts every socket at a fixed interval while data
flows, and the real FeedRunner holding on. Shared by the reconnect tests and the bench."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass
from typing import Any

import aiohttp

from bench.fakes.toy_venue import Sink
from bench.fakes.venues import FakeBinance, force_order
from bot.ingest.backoff import BackoffPolicy
from bot.ingest.feed import FeedRunner, FeedTiming
from bot.ingest.health import SourceHealth
from bot.venues.base import Heartbeat
from bot.venues.binance.feed import BinanceSource

T0 = 1_760_130_000_000
HEARTBEAT = Heartbeat(text=None, interval_s=1.0, silence_limit_s=3.0, data_only=True)


@dataclass
class StormResult:
    """The share of the storm the venue was live, and what the runner went through."""

    connected_fraction: float
    handshakes: int
    runner: FeedRunner


def timing(policy: BackoffPolicy) -> FeedTiming:
    """Local-server transport timings around ``policy``."""
    return FeedTiming(
        ws_heartbeat_s=2.0, connect_timeout_s=2.0, close_timeout_s=0.2, backoff=policy
    )


@contextlib.asynccontextmanager
async def running(*coros: Coroutine[Any, Any, None]) -> AsyncIterator[None]:
    """Run ``coros`` as tasks for the block; cancel and await them after it."""
    tasks = [asyncio.create_task(c) for c in coros]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


def connected_fraction(health: SourceHealth, start_ms: int, end_ms: int) -> float:
    """Share of [start_ms, end_ms) the venue was live, from its recorded gaps."""
    down = 0
    for gap_start, gap_end in health.gaps:
        lo, hi = max(gap_start, start_ms), min(gap_end or end_ms, end_ms)
        down += max(0, hi - lo)
    return 1 - down / (end_ms - start_ms)


async def storm(
    session: aiohttp.ClientSession,
    policy: BackoffPolicy,
    drop_every_s: float,
    duration_s: float,
    *,
    seed: int = 3,
    then_outage_s: float = 0.0,
) -> StormResult:
    """Drop every socket each ``drop_every_s`` for ``duration_s`` while a liquidation
    arrives every 20 ms; then optionally close the port for ``then_outage_s`` (after the
    next session has delivered data) and wait for the runner to come back."""
    fake = FakeBinance()
    await fake.start()
    source = BinanceSource(fake.ws_url("/market"), HEARTBEAT)
    runner = FeedRunner(
        source, session, Sink(), SourceHealth("binance"), rng=random.Random(seed),
        timing=timing(policy),
    )  # fmt: skip

    async def data() -> None:
        i = 0
        while True:
            i += 1
            await fake.push_force_orders([force_order("BTCUSDT", "SELL", "0.01", "6e4", T0 + i)])
            await asyncio.sleep(0.02)

    try:
        async with running(runner.run(), data()):
            await fake.wait_for(lambda: runner.health.live)
            start = time.time_ns() // 1_000_000
            while time.time_ns() // 1_000_000 - start < duration_s * 1000:
                await asyncio.sleep(drop_every_s)
                await fake.drop(abrupt=True)
            end = time.time_ns() // 1_000_000
            fraction = connected_fraction(runner.health, start, end)
            if then_outage_s:
                events = runner.health.events
                await fake.wait_for(lambda: runner.health.live and runner.health.events > events)
                await asyncio.sleep(policy.proven_s * 2)  # the session has proven itself
                await fake.close_port()
                await asyncio.sleep(then_outage_s)
                await fake.start()
                await fake.wait_for(lambda: runner.health.live, within=30)
    finally:
        await fake.stop()
    return StormResult(fraction, fake.handshakes, runner)

"""Reconnect backoff through the real FeedRunner against fake venue servers: a session that
delivered data resets it (a venue dropping us every few seconds stays connected most of
the time, and an outage right after starts again from the base delay), while a server
that accepts and drops us without data gets ever longer waits. Timings are shortened;
the bounds are generous (no timed assertion that a busy machine could fail)."""

from __future__ import annotations

import asyncio
import random
import re
from collections.abc import AsyncIterator

import aiohttp
import pytest

from bench.fakes.drop_storm import running, storm, timing
from bench.fakes.toy_venue import Sink, ToyServer, ToySource, plan
from bot.ingest.backoff import Backoff, BackoffPolicy
from bot.ingest.feed import FeedRunner
from bot.ingest.health import SourceHealth
from bot.venues.base import Heartbeat

# The production feed policy (0.5 s base, x1.2, 30 s cap, reset after 1 s with data or
# 30 s up) with every duration divided by 5; the storm drops every 1 s (5 s / 5).
SCALED = BackoffPolicy(base_s=0.1, cap_s=6.0, healthy_s=6.0, factor=1.2, proven_s=0.2)
# The rule before issue 7, scaled the same way: doubling from 1 s, reset only after 30 s.
OLD_RULE = BackoffPolicy(base_s=0.2, cap_s=12.0, healthy_s=6.0, factor=2.0, proven_s=1e9)
DROP_EVERY_S = 1.0
STORM_S = 6.0


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


def delays(caplog: pytest.LogCaptureFixture) -> list[str]:
    out = []
    for record in caplog.records:
        found = re.search(r"(?:retrying|reconnecting) in (\d+\.\d) s$", record.getMessage())
        if found:
            out.append(found.group(1))
    return out


async def test_a_venue_dropping_us_every_few_seconds_stays_connected_over_80_percent(
    session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    result = await storm(session, SCALED, DROP_EVERY_S, STORM_S, then_outage_s=1.0)
    assert result.connected_fraction >= 0.8, result.connected_fraction
    assert result.handshakes >= STORM_S / DROP_EVERY_S
    # The outage after the storm began from the base delay again: its k-th refused
    # connect waited at most base x factor**k (the last session had delivered data).
    outage = [r.getMessage() for r in caplog.records if "connect failed" in r.getMessage()]
    assert outage
    for k, line in enumerate(outage):
        waited = float(line.rsplit(" ", 2)[1])
        assert waited <= round(SCALED.base_s * SCALED.factor**k, 1) + 0.05, (k, line)


async def test_the_old_rule_falls_behind_in_the_same_storm(
    session: aiohttp.ClientSession,
) -> None:
    # The control: resetting only after a long healthy session, the delay keeps growing.
    result = await storm(session, OLD_RULE, DROP_EVERY_S, STORM_S)
    assert result.connected_fraction < 0.8, result.connected_fraction


async def test_a_server_that_accepts_and_drops_without_data_gets_growing_waits(
    session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    server = ToyServer()
    await server.start()
    policy = BackoffPolicy(base_s=0.2, cap_s=0.8, healthy_s=5.0, factor=2.0, proven_s=0.0)
    source = ToySource(Heartbeat(text=None, interval_s=1.0, silence_limit_s=5.0), [])
    source.current = [plan(server, "a")]
    runner = FeedRunner(
        source, session, Sink(), SourceHealth("toy"), rng=random.Random(5), timing=timing(policy)
    )

    async def dropper() -> None:
        while True:  # cut every socket as soon as it is there (it gets the ack at most)
            await server.drop(abrupt=True)
            await asyncio.sleep(0.005)

    try:
        async with running(runner.run(), dropper()):
            await server.wait_for(lambda: len(delays(caplog)) >= 5, within=10)
    finally:
        await server.stop()
    expected = Backoff(policy, random.Random(5))
    assert delays(caplog)[:5] == [f"{expected.next_delay():.1f}" for _ in range(5)]
    assert runner.health.events == 0

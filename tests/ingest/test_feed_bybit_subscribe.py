"""Bybit's whole-batch subscribe rejection, through the real FeedRunner and RefDataPoller
against the fake Bybit (which, like the real one, subscribes NONE of a request's topics
when one of them is unknown): every other symbol is still collected, the unknown topic
is reported as dropped, and it is tried again after the next symbol-list refresh."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from bench.fakes.toy_venue import Sink
from bench.fakes.venues import FakeBybit, bybit_liquidation
from bot.ingest.backoff import BackoffPolicy
from bot.ingest.feed import FeedRunner, FeedTiming
from bot.ingest.health import SourceHealth
from bot.ingest.refdata import RefDataPoller
from bot.venues.base import Heartbeat
from bot.venues.bybit.feed import BybitSource

FAST = FeedTiming(
    ws_heartbeat_s=2.0,
    connect_timeout_s=2.0,
    close_timeout_s=0.2,
    uptime_extend_s=0.05,
    backoff=BackoffPolicy(base_s=0.02, cap_s=0.1, healthy_s=0.3),
)
HB = Heartbeat(text='{"op":"ping"}', interval_s=0.05, silence_limit_s=0.4)
T0 = 1_760_130_000_000
UNKNOWN = "1000000BOBUSDT"  # listed by instruments-info, unknown to the websocket
# 240 + 3 symbols: two connections (200 + 43), subscribed 50 topics a request.
SYMBOLS = [f"C{i:03d}USDT" for i in range(120)] + [UNKNOWN] + [f"D{i:03d}USDT" for i in range(122)]


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


@contextlib.asynccontextmanager
async def running(runner: FeedRunner) -> AsyncIterator[None]:
    task = asyncio.create_task(runner.run())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def topic_count(fake: FakeBybit) -> int:
    return sum(len(c.topics) for c in fake.clients)


def item(symbol: str, i: int) -> dict[str, Any]:
    return bybit_liquidation(symbol, "Buy" if i % 2 else "Sell", "2", f"{1 + i % 7}.5", T0 + i)


async def test_one_unknown_topic_drops_only_itself_and_is_retried_after_a_refresh(
    session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    fake = FakeBybit(SYMBOLS)
    fake.unknown_topics.add(f"allLiquidation.{UNKNOWN}")
    await fake.start()
    sink = Sink()
    source = BybitSource(fake.ws_url("/v5/public/linear"), HB)
    runner = FeedRunner(source, session, sink, SourceHealth("bybit"), timing=FAST)
    poller = RefDataPoller(source, session, fake.http_url(), on_change=runner.refresh)
    try:
        async with running(runner):
            assert await poller.load_once()
            # Everything but the unknown topic ends up subscribed, its 49 batch mates too.
            await fake.wait_for(lambda: topic_count(fake) == len(SYMBOLS) - 1)
            await fake.wait_for(lambda: bool(runner.health.dropped_topics))
            assert runner.health.dropped_topics == {f"allLiquidation.{UNKNOWN}"}
            assert runner.health.snapshot()["dropped_topics"] in (1, [f"allLiquidation.{UNKNOWN}"])
            # The unknown topic's batch (the third of the first connection) and then its 50
            # topics one by one: 5 batches + 50 single requests in all.
            assert fake.subscribe_requests == 5 + 50
            sent = 0
            for i, symbol in enumerate(s for s in SYMBOLS if s != UNKNOWN):
                sent += await fake.push_liquidations(symbol, [item(symbol, i)])
            assert sent == len(SYMBOLS) - 1
            await fake.wait_for(lambda: len(sink.events) == len(SYMBOLS) - 1)
            assert {e.symbol for e in sink.events} == set(SYMBOLS) - {UNKNOWN}
            assert fake.handshakes == 2 and runner.health.reconnects == 0

            # Bybit starts serving the topic; the hourly refresh lists the same symbols, so
            # no connection restarts, and the dropped topic is tried again on its socket.
            fake.unknown_topics.clear()
            assert await poller.load_once()
            await fake.wait_for(lambda: topic_count(fake) == len(SYMBOLS))
            await fake.wait_for(lambda: not runner.health.dropped_topics)
            assert await fake.push_liquidations(UNKNOWN, [item(UNKNOWN, 0)]) == 1
            await fake.wait_for(lambda: len(sink.events) == len(SYMBOLS))
            assert fake.handshakes == 2 and fake.subscribe_requests == 5 + 50 + 1
    finally:
        await fake.stop()
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    rejected = [m for m in warned if "rejected subscribe" in m]
    assert len(rejected) == 1 and "retrying them one by one" in rejected[0]
    assert "handler not found,topic:allLiquidation.1000000BOBUSDT" in rejected[0]
    refused = [m for m in warned if "refused allLiquidation." in m]
    assert refused == [
        "bybit: venue says: bybit refused allLiquidation.1000000BOBUSDT, not collected:"
        " 'error:handler not found,topic:allLiquidation.1000000BOBUSDT'"
    ]
    assert all(r.exc_info is None for r in caplog.records)


async def test_a_reconnect_finds_the_still_unknown_topic_again_without_losing_others(
    session: aiohttp.ClientSession,
) -> None:
    fake = FakeBybit(["BTCUSDT", UNKNOWN, "ETHUSDT"])
    fake.unknown_topics.add(f"allLiquidation.{UNKNOWN}")
    await fake.start()
    sink = Sink()
    source = BybitSource(fake.ws_url("/v5/public/linear"), HB)
    runner = FeedRunner(source, session, sink, SourceHealth("bybit"), timing=FAST)
    poller = RefDataPoller(source, session, fake.http_url(), on_change=runner.refresh)
    try:
        async with running(runner):
            assert await poller.load_once()
            await fake.wait_for(lambda: topic_count(fake) == 2 and fake.subscribe_requests == 4)
            await fake.drop()
            await fake.wait_for(lambda: fake.handshakes == 2 and fake.subscribe_requests == 8)
            await fake.wait_for(lambda: topic_count(fake) == 2)
            for i, symbol in enumerate(("BTCUSDT", "ETHUSDT")):
                assert await fake.push_liquidations(symbol, [item(symbol, i)]) == 1
            await fake.wait_for(lambda: len(sink.events) == 2)
            assert runner.health.dropped_topics == {f"allLiquidation.{UNKNOWN}"}
    finally:
        await fake.stop()

"""Feed messages fuzzed: seeded valid liquidations mixed with garbage, sent by the fake
Binance, Bybit and OKX servers through the real FeedRunners, Ingestor, TotalsIndex and a
real SQLite file. The totals (from the index and from the database) equal the valid
liquidations only, computed independently with ``Decimal``; every garbage item is
counted as exactly one reject; nothing logs an error or a traceback."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import AsyncIterator
from decimal import Decimal

import aiohttp
import pytest

from bench.fakes.venues import FakeBinance, FakeBybit, FakeOkx, FakeVenue, OkxInstrument
from bot.domain import HOUR_MS
from bot.ingest.backoff import BackoffPolicy
from bot.ingest.feed import FeedRunner, FeedTiming
from bot.ingest.health import SourceHealth
from bot.ingest.ingestor import Ingestor
from bot.ingest.refdata import RefDataPoller
from bot.totals.index import TotalsIndex
from bot.totals.query import totals_from_db
from bot.venues.base import Heartbeat, VenueSource
from bot.venues.binance.feed import BinanceSource
from bot.venues.bybit.feed import BybitSource
from bot.venues.okx.feed import OkxSource
from storage.db import DbThread
from storage.events import count_events
from tests.fakes.feed_junk import BYBIT_SYMBOLS, OKX_CONTRACTS, T0, Expected, JunkFeed

TIMING = FeedTiming(
    ws_heartbeat_s=5.0,
    connect_timeout_s=2.0,
    close_timeout_s=0.2,
    backoff=BackoffPolicy(base_s=0.02, cap_s=0.1),
)
QUIET = Heartbeat(text=None, interval_s=30.0, silence_limit_s=60.0)
FRAMES = 1000
VENUES = ("binance", "bybit", "okx")
WINDOW_MS = 24 * HOUR_MS
END_MS = T0 + 2 * HOUR_MS


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


@contextlib.asynccontextmanager
async def running(*coros: object) -> AsyncIterator[None]:
    tasks = [asyncio.create_task(c) for c in coros]  # type: ignore[arg-type]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


def fakes() -> dict[str, FakeVenue]:
    instruments = [OkxInstrument(i, t, v, m) for i, (t, v, m) in OKX_CONTRACTS.items()]
    return {
        "binance": FakeBinance(),
        "bybit": FakeBybit(BYBIT_SYMBOLS),
        "okx": FakeOkx(instruments),
    }


def sources(venues: dict[str, FakeVenue]) -> dict[str, VenueSource]:
    return {
        "binance": BinanceSource(venues["binance"].ws_url("/market"), QUIET),
        "bybit": BybitSource(venues["bybit"].ws_url("/v5/public/linear"), QUIET),
        "okx": OkxSource(venues["okx"].ws_url("/ws/v5/public"), QUIET),
    }


def subscribed(venue: str, fake: FakeVenue) -> bool:
    topic = {"binance": "!forceOrder@arr", "okx": "liquidation-orders:SWAP"}.get(venue)
    if topic is None:  # bybit: every symbol's topic on its one connection
        return sum(len(c.topics) for c in fake.clients) == len(BYBIT_SYMBOLS)
    return bool(fake.subscribed(topic))


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
async def test_totals_equal_the_valid_messages_only(
    seed: int, dbt: DbThread, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    venues = fakes()
    for fake in venues.values():
        await fake.start()
    index = TotalsIndex()
    ingestor = Ingestor(dbt, index)
    srcs = sources(venues)
    runners = {
        v: FeedRunner(s, session, ingestor.add, SourceHealth(v), timing=TIMING)
        for v, s in srcs.items()
    }
    expected: dict[str, Expected] = {v: JunkFeed(v, seed).frames(FRAMES) for v in VENUES}
    try:
        async with running(*(r.run() for r in runners.values())):
            for v in ("bybit", "okx"):
                poller = RefDataPoller(
                    srcs[v], session, venues[v].http_url(), on_change=runners[v].refresh
                )
                assert await poller.load_once()
            for v, fake in venues.items():
                await fake.wait_for(lambda v=v, f=fake: subscribed(v, f))  # type: ignore[misc]
            before = {v: r.health.messages for v, r in runners.items()}
            for v, fake in venues.items():
                for frame in expected[v].frames:
                    assert await fake.send_to(fake.clients, frame) == 1
            for v, fake in venues.items():
                h, n = runners[v].health, len(expected[v].frames)
                await fake.wait_for(lambda h=h, n=n, b=before[v]: h.messages - b >= n)  # type: ignore[misc]
            await ingestor.flush()
    finally:
        for fake in venues.values():
            await fake.stop()

    total_valid = sum(e.count for e in expected.values())
    assert total_valid > 300 and sum(e.rejects for e in expected.values()) > 300
    assert ingestor.stats.events == total_valid and ingestor.stats.dropped == 0
    assert await dbt.run(count_events) == total_valid
    live = index.query(WINDOW_MS, END_MS, venues=VENUES)
    stored = await dbt.run(totals_from_db, WINDOW_MS, END_MS, None, VENUES, END_MS)
    for v in VENUES:
        want = expected[v]
        health = runners[v].health
        assert health.rejects == want.rejects, v
        assert health.events == want.count, v
        for totals in (live, stored):
            got = totals.by_exchange[v]
            assert (got.long_count, got.short_count) == (
                want.totals["long"][0],
                want.totals["short"][0],
            ), v
            for side, usd in (("long", got.long_usd), ("short", got.short_usd)):
                exact: Decimal = want.totals[side][1]
                assert math.isclose(usd, float(exact), rel_tol=1e-9), (v, side, usd, exact)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]

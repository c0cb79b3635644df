"""The real runner, poller and venue parsers against fake Binance, Bybit and OKX servers.

Each scenario pushes wire-format frames, disturbs the connection (drop, silence, refused
port) and then checks what the sink received against totals computed here, independently,
from the frames sent: count and USD per venue and side with ``Decimal``, by each venue's
documented rule (Binance z×ap with SELL = long; Bybit v×p with Buy = long; OKX
sz×ctVal×ctMult×bkPx linear or sz×ctVal×ctMult inverse, posSide or net order side).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
from collections import defaultdict
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from bench.fakes.toy_venue import Sink
from bench.fakes.venues import (
    FakeBinance,
    FakeBybit,
    FakeOkx,
    OkxInstrument,
    bybit_liquidation,
    force_order,
    okx_detail,
)
from bot.domain import Liquidation
from bot.ingest.backoff import BackoffPolicy
from bot.ingest.feed import FeedRunner, FeedTiming
from bot.ingest.health import SourceHealth
from bot.ingest.refdata import RefDataPoller
from bot.ingest.uptime import MemoryUptime
from bot.venues.base import Heartbeat
from bot.venues.binance.feed import BinanceSource
from bot.venues.bybit.feed import BybitSource
from bot.venues.okx.feed import OkxSource

FAST = FeedTiming(
    ws_heartbeat_s=2.0,
    connect_timeout_s=2.0,
    close_timeout_s=0.2,
    uptime_extend_s=0.05,
    backoff=BackoffPolicy(base_s=0.02, cap_s=0.1, healthy_s=0.3),
)
BINANCE_HB = Heartbeat(text=None, interval_s=1.0, silence_limit_s=3.0, data_only=True)
BYBIT_HB = Heartbeat(text='{"op":"ping"}', interval_s=0.05, silence_limit_s=0.4)
OKX_HB = Heartbeat(text="ping", interval_s=0.05, silence_limit_s=0.4)
BYBIT_SYMBOLS = [f"C{i:03d}USDT" for i in range(240)] + ["BTCUSDT", "ETHUSDT", "1000PEPEUSDT"]
OKX_INSTRUMENTS = [
    OkxInstrument("BTC-USDT-SWAP", "linear", "0.01"),
    OkxInstrument("ETH-USDT-SWAP", "linear", "0.1"),
    OkxInstrument("DOGE-USDT-SWAP", "linear", "1000", "1"),
    OkxInstrument("BTC-USD-SWAP", "inverse", "100"),
    OkxInstrument("ETH-USD-SWAP", "inverse", "10"),
]
T0 = 1_760_130_000_000

Totals = dict[tuple[str, str], tuple[int, Decimal]]


def add(
    totals: defaultdict[tuple[str, str], list[Any]], venue: str, side: str, usd: Decimal
) -> None:
    entry = totals[(venue, side)]
    entry[0] += 1
    entry[1] += usd


def binance_expected(orders: list[dict[str, Any]], into: defaultdict[Any, list[Any]]) -> None:
    for o in orders:
        add(
            into,
            "binance",
            "long" if o["S"] == "SELL" else "short",
            Decimal(o["z"]) * Decimal(o["ap"]),
        )


def bybit_expected(items: list[dict[str, Any]], into: defaultdict[Any, list[Any]]) -> None:
    for i in items:
        add(
            into,
            "bybit",
            "long" if i["S"] == "Buy" else "short",
            Decimal(i["v"]) * Decimal(i["p"]),
        )


def okx_expected(
    inst_id: str, details: list[dict[str, Any]], into: defaultdict[Any, list[Any]]
) -> None:
    inst = next(i for i in OKX_INSTRUMENTS if i.inst_id == inst_id)
    for d in details:
        side = (
            d["posSide"]
            if d["posSide"] in ("long", "short")
            else ("long" if d["side"] == "sell" else "short")
        )
        size = Decimal(d["sz"]) * Decimal(inst.ct_val) * Decimal(inst.ct_mult)
        add(into, "okx", side, size * Decimal(d["bkPx"]) if inst.ct_type == "linear" else size)


def check_totals(received: list[Liquidation], expected: defaultdict[Any, list[Any]]) -> None:
    """Counts exact; USD equal to the Decimal sums up to float rounding of each product."""
    got: defaultdict[tuple[str, str], list[float]] = defaultdict(list)
    for e in received:
        got[(e.venue, e.side)].append(e.usd)
    assert set(got) == set(expected)
    for key, (count, usd) in expected.items():
        assert len(got[key]) == count, key
        assert math.fsum(got[key]) == pytest.approx(float(usd), rel=1e-12), key


def rng_orders(rng: random.Random, n: int, t: int) -> list[dict[str, Any]]:
    symbols = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "1000PEPEUSDT"]
    return [
        force_order(
            rng.choice(symbols),
            rng.choice(["SELL", "BUY"]),
            f"{rng.randint(1, 50_000) / 1000:.3f}",
            f"{rng.randint(100, 12_000_000) / 100:.2f}",
            t + i,
        )
        for i in range(n)
    ]


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


@contextlib.asynccontextmanager
async def running(*coros: Any) -> AsyncIterator[None]:
    tasks = [asyncio.create_task(c) for c in coros]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


def warnings(caplog: pytest.LogCaptureFixture, text: str) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING and text in r.getMessage()
    ]


async def test_binance_routed_stream_survives_pings_drops_and_counts_exactly(
    session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    fake = FakeBinance(ws_heartbeat_s=0.1)  # the server pings: autoping must answer
    await fake.start()
    sink, rng, expected = Sink(), random.Random(11), defaultdict(lambda: [0, Decimal(0)])
    source = BinanceSource(fake.ws_url("/market"), BINANCE_HB)
    runner = FeedRunner(source, session, sink, SourceHealth("binance"), timing=FAST)
    try:
        async with running(runner.run()):
            await fake.wait_for(lambda: bool(fake.subscribed("!forceOrder@arr")))
            assert fake.connects == ["/market/stream?streams=!forceOrder@arr"]
            sent = 0
            for step in range(3):
                orders = rng_orders(rng, 40, T0 + step * 1000)
                assert await fake.push_force_orders(orders) == len(orders)
                binance_expected(orders, expected)
                sent += len(orders)
                await fake.wait_for(lambda n=sent: len(sink.events) == n)  # type: ignore[misc]
                if step == 0:
                    await asyncio.sleep(0.5)  # five server pings answered: still one socket
                    assert fake.handshakes == 1
                    await fake.drop(abrupt=True)
                elif step == 1:
                    await fake.drop(abrupt=False)  # a clean close, like the 24 h cut
                await fake.wait_for(
                    lambda s=step: (
                        fake.handshakes == min(s, 1) + 2  # type: ignore[misc]
                        and bool(fake.subscribed("!forceOrder@arr"))
                    )
                )
    finally:
        await fake.stop()
    assert fake.handshakes == 3 and runner.health.reconnects == 2
    check_totals(sink.events, expected)
    first = sink.events[0]
    assert first.venue == "binance" and first.ts_ms == T0
    assert {e.coin for e in sink.events} <= {"BTC", "ETH", "SOL", "PEPE"}
    assert runner.health.events == 120 and runner.health.rejects == 0
    assert len(warnings(caplog, "reconnecting in")) == 2


async def test_binance_unrouted_url_is_caught_by_the_data_watchdog(
    session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    fake = FakeBinance()
    await fake.start()
    # The legacy URL answers LIST_SUBSCRIPTIONS but never sends data.
    hb = Heartbeat('{"method":"LIST_SUBSCRIPTIONS","id":1}', 0.05, 0.4, data_only=True)
    source = BinanceSource(fake.ws_url(""), hb)
    runner = FeedRunner(source, session, Sink(), SourceHealth("binance"), timing=FAST)
    try:
        async with running(runner.run()):
            await fake.wait_for(lambda: fake.handshakes >= 2, within=3)
    finally:
        await fake.stop()
    assert fake.connects[0] == "/stream?streams=!forceOrder@arr"
    assert runner.health.messages >= 4 and runner.health.events == 0  # replies, no data
    assert warnings(caplog, "binance: socket open but silent for 0.")


async def test_bybit_waits_for_symbols_then_holds_two_connections_and_counts_exactly(
    session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    fake = FakeBybit(BYBIT_SYMBOLS)
    await fake.start()
    sink, expected, uptime = Sink(), defaultdict(lambda: [0, Decimal(0)]), MemoryUptime()
    source = BybitSource(fake.ws_url("/v5/public/linear"), BYBIT_HB)
    runner = FeedRunner(source, session, sink, SourceHealth("bybit"), uptime, timing=FAST)
    poller = RefDataPoller(source, session, fake.http_url(), on_change=runner.refresh)
    topic_count = lambda: sum(len(c.topics) for c in fake.clients)  # noqa: E731

    async def push(symbol: str, items: list[dict[str, Any]]) -> None:
        assert await fake.push_liquidations(symbol, items) == 1
        bybit_expected(items, expected)

    try:
        async with running(runner.run()):
            await asyncio.sleep(0.1)
            assert fake.handshakes == 0 and not runner.health.live  # no symbols yet
            assert await poller.load_once()
            await fake.wait_for(lambda: topic_count() == len(BYBIT_SYMBOLS))
            await fake.wait_for(lambda: runner.health.live)
            assert len(fake.clients) == 2 and runner.health.rejects == 0
            await asyncio.sleep(0.3)  # pings every 50 ms, each answered by a pong
            assert fake.received.count('{"op":"ping"}') >= 8 and fake.handshakes == 2
            await push(
                "BTCUSDT",
                [
                    bybit_liquidation("BTCUSDT", "Buy", "0.5", "61234.5", T0),
                    bybit_liquidation("BTCUSDT", "Sell", "1.25", "61300", T0 + 1),
                ],
            )
            await push("C007USDT", [bybit_liquidation("C007USDT", "Sell", "12000", "0.04499", T0)])
            await fake.wait_for(lambda: len(sink.events) == 3)
            second = [c for c in fake.clients if "allLiquidation.ETHUSDT" in c.topics]
            await fake.drop(where=lambda c: c in second)
            await fake.wait_for(
                lambda: (
                    runner.health.reconnects == 1
                    and runner.health.live
                    and topic_count() == len(BYBIT_SYMBOLS)
                )
            )
            # One of two sockets down made the whole venue not live for a moment.
            assert len(runner.health.gaps) == 2 and runner.health.gaps[1][1] is not None
            await push("ETHUSDT", [bybit_liquidation("ETHUSDT", "Buy", "3.1", "2400.15", T0 + 5)])
            await push(
                "1000PEPEUSDT",
                [bybit_liquidation("1000PEPEUSDT", "Buy", "1000000", "0.0123", T0 + 6)],
            )
            await push("C001USDT", [bybit_liquidation("C001USDT", "Buy", "7", "1.5", T0 + 7)])
            await fake.wait_for(lambda: len(sink.events) == 6)
    finally:
        await fake.stop()
    check_totals(sink.events, expected)
    assert {e.coin for e in sink.events} == {"BTC", "C007", "ETH", "PEPE", "C001"}
    subscribes = [m for m in fake.received if '"op":"subscribe"' in m]
    assert len(subscribes) == 5 + 1  # 200 + 43 topics by 50, then the dropped one again
    assert runner.health.reconnects == 1 and not warnings(caplog, "venue says")
    intervals = uptime.intervals("bybit")
    assert len(intervals) == 2 and all(closed for _, _, closed in intervals)


async def test_okx_contract_values_silence_watchdog_and_exact_totals(
    session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    fake = FakeOkx(OKX_INSTRUMENTS)
    await fake.start()
    sink, expected = Sink(), defaultdict(lambda: [0, Decimal(0)])
    source = OkxSource(fake.ws_url("/ws/v5/public"), OKX_HB)
    runner = FeedRunner(source, session, sink, SourceHealth("okx"), timing=FAST)
    poller = RefDataPoller(source, session, fake.http_url(), on_change=runner.refresh)

    async def push(inst_id: str, details: list[dict[str, Any]]) -> None:
        assert await fake.push_liquidations(inst_id, details) == 1
        okx_expected(inst_id, details, expected)

    try:
        async with running(runner.run(), poller.run()):
            await fake.wait_for(lambda: bool(fake.subscribed("liquidation-orders:SWAP")))
            await push(
                "BTC-USDT-SWAP",
                [
                    okx_detail("long", "sell", "13", "61000.5", T0),
                    okx_detail("net", "buy", "2", "61010", T0 + 1),
                ],
            )
            await push("BTC-USD-SWAP", [okx_detail("short", "buy", "40", "60990.1", T0 + 2)])
            await push("DOGE-USDT-SWAP", [okx_detail("net", "sell", "3", "0.1975", T0 + 3)])
            await fake.wait_for(lambda: len(sink.events) == 4)
            fake.silence = "all"  # open, reading, but no pong and no data
            await fake.wait_for(lambda: fake.handshakes == 2, within=3)
            fake.silence = "none"
            await fake.wait_for(lambda: runner.health.live and len(fake.clients) == 1)
            await fake.wait_for(lambda: bool(fake.subscribed("liquidation-orders:SWAP")))
            await push("ETH-USDT-SWAP", [okx_detail("short", "buy", "250", "2401.37", T0 + 4)])
            await push("ETH-USD-SWAP", [okx_detail("net", "sell", "77", "2399.9", T0 + 5)])
            await fake.wait_for(lambda: len(sink.events) == 6)
    finally:
        await fake.stop()
    check_totals(sink.events, expected)
    assert fake.rest_requests == ["/api/v5/public/instruments?instType=SWAP"]
    assert fake.received.count("ping") >= 4
    silent = warnings(caplog, "okx: socket open but silent for 0.")
    assert len(silent) == 1 and "; reconnecting in " in silent[0]
    assert runner.health.last_error is not None


async def test_refused_port_then_recovery_on_all_three_venues_one_sink(
    session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    binance, bybit, okx = (
        FakeBinance(),
        FakeBybit(["BTCUSDT", "SOLUSDT"]),
        FakeOkx(OKX_INSTRUMENTS),
    )
    for fake in (binance, bybit, okx):
        await fake.start()
    sink, expected = Sink(), defaultdict(lambda: [0, Decimal(0)])
    sources = [
        BinanceSource(binance.ws_url("/market"), BINANCE_HB),
        BybitSource(bybit.ws_url("/v5/public/linear"), BYBIT_HB),
        OkxSource(okx.ws_url("/ws/v5/public"), OKX_HB),
    ]
    runners = [FeedRunner(s, session, sink, SourceHealth(s.name), timing=FAST) for s in sources]
    pollers = [
        RefDataPoller(s, session, f.http_url(), on_change=r.refresh, backoff=FAST.backoff)
        for s, f, r in zip(sources[1:], (bybit, okx), runners[1:], strict=True)
    ]
    try:
        await binance.close_port()  # nobody listening on Binance's port for a while
        async with running(*(r.run() for r in runners), *(p.run() for p in pollers)):
            await binance.wait_for(lambda: len(warnings(caplog, "binance: connect failed")) >= 3)
            await binance.start()
            await binance.wait_for(lambda: all(r.health.live for r in runners))
            orders = [
                force_order("ETHUSDT", "SELL", "2.5", "2400.5", T0),
                force_order("BTCUSDT", "BUY", "0.014", "9910", T0 + 1),
            ]
            assert await binance.push_force_orders(orders) == 2
            binance_expected(orders, expected)
            items = [bybit_liquidation("SOLUSDT", "Sell", "30", "140.25", T0)]
            assert await bybit.push_liquidations("SOLUSDT", items) == 1
            bybit_expected(items, expected)
            details = [
                okx_detail("long", "sell", "1", "60000", T0),
                okx_detail("net", "buy", "5", "1", T0),
            ]
            assert await okx.push_liquidations("BTC-USD-SWAP", details) == 1
            okx_expected("BTC-USD-SWAP", details, expected)
            await binance.wait_for(lambda: len(sink.events) == 5)
    finally:
        for fake in (binance, bybit, okx):
            await fake.stop()
    check_totals(sink.events, expected)
    assert expected[("okx", "long")][1] == Decimal(100) and expected[("okx", "short")][1] == 500
    refused = warnings(caplog, "binance: connect failed (Cannot connect to host 127.0.0.1:")
    assert all("): retrying in " in line for line in refused)
    assert all(r.exc_info is None for r in caplog.records if r.levelno >= logging.WARNING)
    assert [r.health.reconnects for r in runners] == [0, 0, 0]

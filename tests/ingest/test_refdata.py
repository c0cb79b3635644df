"""RefDataPoller with the real Bybit/OKX sources against fake REST servers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncIterator

import aiohttp
import pytest

from bench.fakes.venues import FakeBybit, FakeOkx, OkxInstrument
from bot.ingest.backoff import BackoffPolicy
from bot.ingest.refdata import RefDataPoller
from bot.venues.binance.feed import BinanceSource
from bot.venues.bybit.feed import BybitSource
from bot.venues.okx.feed import OkxSource

FAST = BackoffPolicy(base_s=0.02, cap_s=0.05)
SYMBOLS = [f"C{i:03d}USDT" for i in range(260)]  # 2 pages, 2 connections of <= 200 topics
INSTRUMENTS = [
    OkxInstrument("BTC-USDT-SWAP", "linear", "0.01"),
    OkxInstrument("BTC-USD-SWAP", "inverse", "100"),
]


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


@pytest.fixture
async def bybit() -> AsyncIterator[FakeBybit]:
    fake = FakeBybit(SYMBOLS)
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def okx() -> AsyncIterator[FakeOkx]:
    fake = FakeOkx(INSTRUMENTS)
    await fake.start()
    yield fake
    await fake.stop()


class Changes:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> None:
        self.calls += 1


def warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno == logging.WARNING]


async def test_bybit_pages_are_followed_and_plans_change_once(
    bybit: FakeBybit, session: aiohttp.ClientSession
) -> None:
    source = BybitSource(bybit.ws_url("/v5/public/linear"))
    changes = Changes()
    poller = RefDataPoller(source, session, bybit.http_url(), on_change=changes)
    assert not source.ready()
    assert await poller.load_once()
    assert bybit.rest_requests == [
        "/v5/market/instruments-info?category=linear&status=Trading&limit=1000",
        "/v5/market/instruments-info?category=linear&status=Trading&limit=1000"
        "&cursor=next%3Dpage2%26x%3D1",
    ]
    assert source.ready() and poller.loaded.is_set()
    assert sorted(source.symbols()) == SYMBOLS
    assert [len(p.subscribe) for p in source.plans()] == [4, 2]  # 50 topics per message
    assert changes.calls == 1
    assert await poller.load_once()  # same list again: no change to report
    assert changes.calls == 1


async def test_failed_second_page_is_retried_from_the_start_without_a_traceback(
    bybit: FakeBybit, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    source = BybitSource(bybit.ws_url("/v5/public/linear"))
    changes = Changes()
    failures = iter([True])
    bybit.rest_fail_if = lambda path: "cursor=" in path and next(failures, False)
    poller = RefDataPoller(
        source, session, bybit.http_url(), on_change=changes, backoff=FAST, rng=random.Random(1)
    )
    task = asyncio.create_task(poller.run())
    try:
        await asyncio.wait_for(poller.loaded.wait(), timeout=5)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert len(bybit.rest_requests) == 4 and poller.failures == 1
    assert changes.calls == 1 and len(source.symbols()) == 260  # page 1 alone never applied
    (record,) = warnings(caplog)
    assert record.exc_info is None
    assert record.getMessage().startswith(
        "bybit: reference data failed (/v5/market/instruments-info?category=linear&status="
        "Trading&limit=1000&cursor=next%3Dpage2%26x%3D1: HTTP 500): retrying in 0.0"
    )


async def test_okx_contract_values_make_the_source_ready(
    okx: FakeOkx, session: aiohttp.ClientSession
) -> None:
    source = OkxSource(okx.ws_url("/ws/v5/public"))
    changes = Changes()
    poller = RefDataPoller(source, session, okx.http_url() + "/", on_change=changes)
    assert await poller.load_once()
    assert okx.rest_requests == ["/api/v5/public/instruments?instType=SWAP"]
    assert source.contract("BTC-USDT-SWAP") == (True, 0.01)
    assert source.contract("BTC-USD-SWAP") == (False, 100.0)
    assert changes.calls == 1


async def test_an_empty_instrument_list_is_a_failure(
    okx: FakeOkx, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    okx.instruments = []
    poller = RefDataPoller(OkxSource(okx.ws_url()), session, okx.http_url())
    assert not await poller.load_once()
    assert not poller.loaded.is_set()
    assert [r.getMessage() for r in warnings(caplog)] == [
        "okx: reference data failed (/api/v5/public/instruments?instType=SWAP: no usable rows)"
    ]


async def test_every_request_has_a_timeout(
    okx: FakeOkx, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    okx.rest_delay_s = 2.0
    poller = RefDataPoller(OkxSource(okx.ws_url()), session, okx.http_url(), request_timeout_s=0.2)
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert not await poller.load_once()
    assert loop.time() - started < 1.0
    assert [r.getMessage() for r in warnings(caplog)] == [
        "okx: reference data failed (TimeoutError)"
    ]


async def test_unreachable_host_is_one_line(
    okx: FakeOkx, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    await okx.close_port()
    poller = RefDataPoller(OkxSource(okx.ws_url()), session, okx.http_url())
    assert not await poller.load_once()
    (record,) = warnings(caplog)
    assert record.exc_info is None
    assert record.getMessage().startswith(
        f"okx: reference data failed (Cannot connect to host 127.0.0.1:{okx.port} "
    )


async def test_a_venue_without_reference_data_is_loaded_at_once(
    session: aiohttp.ClientSession,
) -> None:
    changes = Changes()
    poller = RefDataPoller(
        BinanceSource("ws://127.0.0.1:9/market"), session, "http://127.0.0.1:9", on_change=changes
    )
    assert await poller.load_once()
    assert poller.loaded.is_set() and changes.calls == 0

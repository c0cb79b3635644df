"""The end-to-end tests' world: fake Binance, Bybit and OKX feeds and a fake Bot API on
127.0.0.1, started together and stopped together, and one polling wait."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Sequence

from bench.fakes.bot_api import FakeBotApi
from bench.fakes.venues import FakeBinance, FakeBybit, FakeOkx, OkxInstrument

World = tuple[FakeBotApi, FakeBinance, FakeBybit, FakeOkx]


Venues = tuple[FakeBinance, FakeBybit, FakeOkx]


@contextlib.asynccontextmanager
async def fake_venues(
    bybit_symbols: Sequence[str] = ("BTCUSDT", "ETHUSDT"),
) -> AsyncIterator[Venues]:
    """The three fake venues, started: ``bybit_symbols`` on Bybit, BTC-USDT-SWAP on OKX."""
    binance, bybit = FakeBinance(), FakeBybit(list(bybit_symbols))
    okx = FakeOkx([OkxInstrument("BTC-USDT-SWAP", "linear", "0.01")])
    for fake in (binance, bybit, okx):
        await fake.start()
    try:
        yield binance, bybit, okx
    finally:
        for fake in (binance, bybit, okx):
            await fake.stop()


def venue_env(binance: FakeBinance, bybit: FakeBybit, okx: FakeOkx) -> dict[str, str]:
    """The URL variables that point liqwatch at the three fake venues."""
    return {
        "LIQWATCH_BINANCE_WS_URL": binance.ws_url("/market"),
        "LIQWATCH_BINANCE_REST_URL": binance.http_url(),
        "LIQWATCH_BYBIT_WS_URL": bybit.ws_url("/v5/public/linear"),
        "LIQWATCH_BYBIT_REST_URL": bybit.http_url(),
        "LIQWATCH_OKX_WS_URL": okx.ws_url("/ws/v5/public"),
        "LIQWATCH_OKX_REST_URL": okx.http_url(),
    }


@contextlib.asynccontextmanager
async def venue_world(token: str) -> AsyncIterator[World]:
    """The three fake venues (BTC and ETH on Bybit, BTC-USDT-SWAP on OKX) and a fake Bot
    API accepting ``token``."""
    async with fake_venues() as (binance, bybit, okx), FakeBotApi(token=token) as telegram:
        yield telegram, binance, bybit, okx


async def wait_for(predicate: Callable[[], bool], within: float, step: float = 0.02) -> None:
    """Poll ``predicate`` until it holds; fail the test after ``within`` seconds."""
    deadline = time.monotonic() + within
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(step)

"""The end-to-end tests' world: fake Binance, Bybit and OKX feeds and a fake Bot API on
127.0.0.1, started together and stopped together, and one polling wait."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable

from bench.fakes.bot_api import FakeBotApi
from bench.fakes.venues import FakeBinance, FakeBybit, FakeOkx, OkxInstrument

World = tuple[FakeBotApi, FakeBinance, FakeBybit, FakeOkx]


@contextlib.asynccontextmanager
async def venue_world(token: str) -> AsyncIterator[World]:
    """The three fake venues (BTC and ETH on Bybit, BTC-USDT-SWAP on OKX) and a fake Bot
    API accepting ``token``."""
    binance, bybit = FakeBinance(), FakeBybit(["BTCUSDT", "ETHUSDT"])
    okx = FakeOkx([OkxInstrument("BTC-USDT-SWAP", "linear", "0.01")])
    for fake in (binance, bybit, okx):
        await fake.start()
    try:
        async with FakeBotApi(token=token) as telegram:
            yield telegram, binance, bybit, okx
    finally:
        for fake in (binance, bybit, okx):
            await fake.stop()


async def wait_for(predicate: Callable[[], bool], within: float, step: float = 0.02) -> None:
    """Poll ``predicate`` until it holds; fail the test after ``within`` seconds."""
    deadline = time.monotonic() + within
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(step)

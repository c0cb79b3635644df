"""End to end: the real ``liqwatch run`` with a token, a fake Bot API and fake venues.

Users subscribe and set thresholds through Telegram commands, a cascade arrives in the
venues' wire formats, exactly the right chats get exactly the right alerts with the right
numbers, /liq answers with the exact totals, and a restart neither repeats nor loses.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from bench.fakes.bot_api import FakeBotApi
from bench.fakes.venues import (
    FakeBinance,
    FakeBybit,
    FakeOkx,
    bybit_liquidation,
    force_order,
)
from bot.app import run_forever
from bot.cli import quiet_noisy_loggers
from bot.config import Settings
from tests.fakes.world import World, venue_env, venue_world
from tests.fakes.world import wait_for as wait_until

TOKEN = "123456:TEST-token-never-logged"
MARKET_1H, WATCHER, DEFAULTS, QUITTER = 1001, 1002, 1003, 1004


@pytest.fixture
async def world() -> AsyncIterator[World]:
    async with venue_world(TOKEN) as w:
        yield w


async def wait_for(predicate: Callable[[], bool], within: float = 15.0) -> None:
    await wait_until(predicate, within, 0.02)


def alerts(telegram: FakeBotApi, chat_id: int) -> list[str]:
    return [t.replace("<b>", "") for t in telegram.texts(chat_id) if t and "🚨" in t]


async def command(telegram: FakeBotApi, chat_id: int, text: str) -> str:
    before = len(telegram.texts(chat_id))
    telegram.push_command(chat_id, text)
    await wait_for(lambda: len(telegram.texts(chat_id)) > before)
    return telegram.texts(chat_id)[before] or ""


async def test_subscribe_alert_liq_and_restart(
    tmp_path: Path,
    world: tuple[FakeBotApi, FakeBinance, FakeBybit, FakeOkx],
    caplog: pytest.LogCaptureFixture,
) -> None:
    telegram, binance, bybit, okx = world
    caplog.set_level(logging.DEBUG)
    quiet_noisy_loggers()  # exactly what `liqwatch run` configures
    settings = Settings.from_env(
        {
            "LIQWATCH_DB": str(tmp_path / "bot.db"),
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": telegram.base_url,
            **venue_env(binance, bybit, okx),
        }
    )

    async def start() -> tuple[asyncio.Event, asyncio.Task[None]]:
        stop = asyncio.Event()
        task = asyncio.create_task(run_forever(settings, stop))
        await wait_for(lambda: bool(bybit.subscribed("allLiquidation.BTCUSDT")))
        await wait_for(lambda: bool(binance.subscribed("!forceOrder@arr")))
        return stop, task

    stop, task = await start()
    assert "start" in {c["command"] for c in telegram.commands.get("default", [])} or any(
        call.method.lower() == "setmycommands" for call in telegram.calls
    )
    for chat in (MARKET_1H, WATCHER, DEFAULTS, QUITTER):
        assert "/threshold" in await command(telegram, chat, "/start")
    assert "$5M" in await command(telegram, MARKET_1H, "/threshold 1h 5M")
    assert "BTC" in await command(telegram, WATCHER, "/watch BTC 2M")
    assert "stopped" in (await command(telegram, QUITTER, "/stop")).lower()

    # The cascade: Bybit longs 2 x $3M (Buy = long), Binance a $1.2M long (SELL = long).
    now = int(time.time() * 1000)
    await bybit.push_liquidations(
        "BTCUSDT",
        [
            bybit_liquidation("BTCUSDT", "Buy", "50", "60000", now - 3000),
            bybit_liquidation("BTCUSDT", "Buy", "50", "60000", now - 2500),
        ],
    )
    await binance.push_force_orders([force_order("BTCUSDT", "SELL", "20", "60000", now - 2000)])
    await wait_for(
        lambda: len(alerts(telegram, MARKET_1H)) == 1 and len(alerts(telegram, WATCHER)) == 1
    )

    market = alerts(telegram, MARKET_1H)[0]
    assert market.startswith("🚨 $7.2M liquidated in 1h")
    assert "100%" in market  # all longs
    watch = alerts(telegram, WATCHER)[0]
    assert "BTC" in watch.split("\n")[0] and "$7.2M" in watch.split("\n")[0]

    liq = await command(telegram, DEFAULTS, "/liq")
    assert "$7.2M" in liq
    await asyncio.sleep(1.5)  # a few more ticks: nothing fires twice
    assert alerts(telegram, DEFAULTS) == [] and alerts(telegram, QUITTER) == []
    assert len(alerts(telegram, MARKET_1H)) == 1 and len(alerts(telegram, WATCHER)) == 1

    stop.set()
    await asyncio.wait_for(task, 15)

    # Restart over the same file: rules, states and totals come back; nothing is repeated.
    stop, task = await start()
    await asyncio.sleep(1.5)
    assert len(alerts(telegram, MARKET_1H)) == 1 and len(alerts(telegram, WATCHER)) == 1

    # $4.2M more: 1h total $11.4M >= 2 x $5M (one escalation); BTC 5.7 x $2M (escalation at 4x).
    now = int(time.time() * 1000)
    await bybit.push_liquidations(
        "BTCUSDT", [bybit_liquidation("BTCUSDT", "Sell", "70", "60000", now - 1000)]
    )
    await wait_for(
        lambda: len(alerts(telegram, MARKET_1H)) == 2 and len(alerts(telegram, WATCHER)) == 2
    )
    assert alerts(telegram, MARKET_1H)[1].startswith("🚨 $11.4M liquidated in 1h")
    await asyncio.sleep(1.2)
    assert len(alerts(telegram, MARKET_1H)) == 2 and len(alerts(telegram, WATCHER)) == 2
    assert alerts(telegram, DEFAULTS) == [] and alerts(telegram, QUITTER) == []

    stop.set()
    await asyncio.wait_for(task, 15)
    assert telegram.html_violations == []
    ours = [r for r in caplog.records if not r.name.startswith("aiohttp.access")]
    assert ours, "the run logged nothing at all?"
    assert all(TOKEN not in r.getMessage() for r in ours)

"""End to end: a one-sided cascade reaches EVERY subscriber.

The measured failure of issue 7: a $118M long squeeze with 99.5% longs, so the shares
read ``>99%`` / ``<1%``; the alert went out as unescaped HTML, Telegram refused it, and
every outbox row ended ``failed`` (0 of 2,000 chats). Here the real ``liqwatch run``
talks to a fake Bot API that refuses what Telegram refuses (bench/fakes/telegram_html.py)
and to fake venues speaking their wire formats; 60 chats subscribe with /start (the
default 1h $100M rule), the cascade arrives on Binance and Bybit, and every chat must get
its alert, with no outbox row failed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from sqlite_utils import Database

from bench.fakes.bot_api import FakeBotApi
from bench.fakes.telegram_html import check_telegram_html
from bench.fakes.venues import (
    FakeBinance,
    FakeBybit,
    FakeOkx,
    bybit_liquidation,
    force_order,
)
from bot.app import run_forever
from bot.config import Settings
from storage import outbox
from tests.fakes.world import World, venue_env, venue_world
from tests.fakes.world import wait_for as wait_until

TOKEN = "123456:CASCADE-token"
CHATS = [2000 + i for i in range(60)]


@pytest.fixture
async def world() -> AsyncIterator[World]:
    async with venue_world(TOKEN) as w:
        yield w


async def wait_for(predicate: Callable[[], bool], within: float = 60.0) -> None:
    await wait_until(predicate, within, 0.05)


def alerts(telegram: FakeBotApi, chat_id: int) -> list[str]:
    return [t for t in telegram.texts(chat_id) if t and t.lstrip().startswith(("🚨", "⚠️"))]


async def test_long_squeeze_at_99_5_percent_reaches_every_chat(
    tmp_path: Path, world: tuple[FakeBotApi, FakeBinance, FakeBybit, FakeOkx]
) -> None:
    telegram, binance, bybit, okx = world
    db_path = tmp_path / "bot.db"
    settings = Settings.from_env(
        {
            "LIQWATCH_DB": str(db_path),
            "LIQWATCH_DEFAULT_RULES": "1h=100M",
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": telegram.base_url,
            **venue_env(binance, bybit, okx),
        }
    )
    stop = asyncio.Event()
    task = asyncio.create_task(run_forever(settings, stop))
    try:
        await wait_for(lambda: bool(bybit.subscribed("allLiquidation.BTCUSDT")))
        await wait_for(lambda: bool(binance.subscribed("!forceOrder@arr")))
        for chat in CHATS:
            telegram.push_command(chat, "/start")
        await wait_for(lambda: all(telegram.texts(chat) for chat in CHATS))

        # $118.29M: longs $117.7M (99.5%: ">99%"), shorts $590K ("<1%"); Bybit Buy and
        # Binance SELL are long positions liquidated.
        now = int(time.time() * 1000)
        await bybit.push_liquidations(
            "BTCUSDT",
            [
                bybit_liquidation("BTCUSDT", "Buy", "100", "59000", now - 3000 + i)
                for i in range(10)
            ]
            + [bybit_liquidation("BTCUSDT", "Sell", "10", "59000", now - 2900)],
        )
        await binance.push_force_orders(
            [force_order("BTCUSDT", "SELL", "100", "58700", now - 2000 + i) for i in range(10)]
        )
        await wait_for(lambda: all(alerts(telegram, chat) for chat in CHATS))
        await asyncio.sleep(1.0)  # a few more ticks: nobody gets it twice
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)

    assert telegram.html_violations == []
    texts = [alerts(telegram, chat) for chat in CHATS]
    assert all(len(t) == 1 for t in texts), [len(t) for t in texts]
    alert = texts[0][0]
    assert all(t == [alert] for t in texts)  # one formatting, fanned out
    check_telegram_html(alert)
    assert "🚨 $118.3M liquidated in 1h" in alert
    assert "Longs $117.7M (&gt;99%) · Shorts $590K (&lt;1%) · 21 liquidations" in alert
    assert "📉 Long squeeze: longs &gt;99%" in alert

    db = Database(db_path)
    try:
        rows = [r for chat in CHATS for r in outbox.rows_for(db, chat) if r.kind == "alert"]
        counts = outbox.counts(db)
    finally:
        db.close()
    assert len(rows) == len(CHATS) and {r.status for r in rows} == {"sent"}
    assert counts["failed"] == 0

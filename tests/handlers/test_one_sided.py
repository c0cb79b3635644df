"""/liq and /top on a one-sided window, through the real PTB Application and a fake Bot
API that refuses what Telegram refuses: shares of ``>99%`` and ``<1%`` arrive escaped
(before issue 7 every such reply was refused: "can't parse entities")."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bench.fakes.chat_bot import NOW, ChatBot, chat_bot
from bench.fakes.telegram_html import check_telegram_html
from bot.domain import MINUTE_MS
from bot.totals.index import TotalsIndex


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[ChatBot]:
    index = TotalsIndex()
    minute = NOW - 10 * MINUTE_MS
    # BTC: $119.4M longs, $600K shorts (99.5% longs); ETH: only shorts, 0.1% of it long.
    index.load(
        sorted(
            [
                (minute, "binance", "BTC", "long", 119.4e6, 900, 5e6, minute + 1, "BTCUSDT"),
                (minute, "bybit", "BTC", "short", 0.6e6, 3, 0.3e6, minute + 2, "BTCUSDT"),
                (minute, "okx", "ETH", "short", 9.99e6, 40, 1e6, minute + 3, "ETH-USDT-SWAP"),
                (minute, "okx", "ETH", "long", 0.01e6, 1, 0.01e6, minute + 4, "ETH-USDT-SWAP"),
            ]
        )
    )
    async with chat_bot(tmp_path / "bot.db", index=index) as running:
        yield running


async def test_liq_with_a_share_over_99_percent_is_delivered(bot: ChatBot) -> None:
    text = await bot.ask(42, "/liq BTC 1h")
    check_telegram_html(text)  # ask() also checked the fake Bot API accepted it
    lines = text.split("\n")
    assert lines[0] == "<b>💥 BTC liquidations · last 1h</b>"
    assert lines[2] == "🔴 Longs $119.4M (&gt;99%) · 🟢 Shorts $600K (&lt;1%)"
    assert "Binance $119.4M · longs 100%" in lines and "Bybit $600K · longs 0%" in lines
    market = (await bot.ask(42, "/liq 1h")).split("\n")
    top = market[market.index("<b>Top coins</b>") + 1 :][:2]
    assert top == ["1. BTC $120M · longs &gt;99%", "2. ETH $10M · longs &lt;1%"]
    assert bot.fake.html_violations == []


async def test_top_with_one_sided_coins_is_delivered(bot: ChatBot) -> None:
    text = await bot.ask(42, "/top 1h")
    check_telegram_html(text)
    assert text.split("\n")[3:5] == [
        "1. <b>BTC</b> $120M · longs &gt;99% · 903",
        "2. <b>ETH</b> $10M · longs &lt;1% · 41",
    ]

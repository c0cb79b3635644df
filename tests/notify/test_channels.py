"""Channels render at send time (bot/notify/telegram/render.py, bot/notify/console.py).

The outbox holds notices (data); the Telegram channel renders the HTML just before
``sendMessage``, through the real PTB ``Bot`` against the fake Bot API on loopback and a
real SQLite outbox. Rows stored before notices existed (text only) are sent as that text.
"""

from __future__ import annotations

import asyncio
import logging

import pytest
from sqlite_utils import Database
from telegram import Bot

from bench.fakes.bot_api import FakeBotApi
from bot.alerts.notice import LiquidationNotice, to_json
from bot.alerts.rules import FIRST, Fire
from bot.domain import RuleSpec
from bot.notify.console import ConsoleChannel
from bot.notify.telegram.render import HtmlRenderer, render_html
from bot.notify.telegram.sender import Sender
from bot.text.alert import alert_text, format_alert
from bot.totals.result import CoinTotals, ExchangeTotals, Totals
from storage import outbox
from storage.db import DbThread
from storage.outbox import FAILED, SENT, NewMessage

M = 1e6


def hour(coin: str = "A<B>&C") -> Totals:
    return Totals(
        window="1h",
        start_ms=1_791_630_000_000,
        end_ms=1_791_633_600_000,
        long_usd=90 * M,
        short_usd=30 * M,
        long_count=700,
        short_count=300,
        by_exchange={"binance": ExchangeTotals(60 * M, 20 * M, 500, 200)},
        by_coin={coin: CoinTotals(90 * M, 30 * M, 700, 300)},
        largest=None,
    )


def notice() -> LiquidationNotice:
    return LiquidationNotice(RuleSpec("1h", 100 * M), Fire(FIRST, 1, 120 * M, 100 * M), hour())


async def send_all(bot: Bot, dbt: DbThread, messages: list[NewMessage]) -> list[int]:
    rows = await dbt.run(outbox.add, messages, 1_000)
    sender = Sender(bot, dbt)
    await sender.start()
    sender.push(rows)
    async with asyncio.timeout(10):
        await sender.drain()
    await sender.stop()
    return [r.id for r in rows]


async def test_a_notice_is_rendered_when_sent_byte_for_byte_as_before(
    fake: FakeBotApi, bot: Bot, dbt: DbThread
) -> None:
    n = notice()
    payload = to_json(n)
    ids = await send_all(bot, dbt, [NewMessage(c, "", "alert", payload) for c in (1, 2, 3)])
    expected = format_alert(n.spec, n.fire, n.totals)
    assert "A&lt;B&gt;&amp;C" in expected  # escaped once, by the renderer
    assert [fake.texts(c) for c in (1, 2, 3)] == [[expected]] * 3
    stored = await dbt.run(outbox.get, ids)
    assert {r.status for r in stored} == {SENT}
    assert all(r.text == "" and r.notice == payload and r.channel == "telegram" for r in stored)


async def test_a_row_stored_before_notices_is_sent_as_its_text(
    fake: FakeBotApi, bot: Bot, dbt: DbThread
) -> None:
    def old_insert(db: Database) -> None:  # what the outbox wrote before migration 7
        with db.conn:
            db.execute(
                "INSERT INTO outbox (id, chat_id, text, kind, created_ms) VALUES (1, 5, ?, ?, ?)",
                ("<b>old</b> alert", "alert", 500),
            )

    await dbt.run(old_insert)
    (row,) = await dbt.run(outbox.unfinished)
    assert (row.notice, row.channel, row.address) == (None, "telegram", None)
    sender = Sender(bot, dbt)
    assert await sender.start() == 1
    async with asyncio.timeout(10):
        await sender.drain()
    await sender.stop()
    assert fake.texts(5) == ["<b>old</b> alert"]


async def test_an_unreadable_notice_fails_its_row_alone_without_a_traceback(
    fake: FakeBotApi, bot: Bot, dbt: DbThread, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    good = to_json(notice())
    ids = await send_all(
        bot,
        dbt,
        [NewMessage(7, "", "alert", '{"kind": "whale"}'), NewMessage(8, "", "alert", good)],
    )
    bad, fine = await dbt.run(outbox.get, ids)
    assert bad.status == FAILED and bad.reason is not None and "unreadable notice" in bad.reason
    assert fine.status == SENT and fake.texts(7) == [] and len(fake.texts(8)) == 1
    assert all(c.params.get("chat_id") != 7 for c in fake.calls_to("sendMessage"))
    assert not [r for r in caplog.records if r.exc_info]


def test_a_fan_out_renders_its_notice_once() -> None:
    renderer = HtmlRenderer(memory=2)
    payload = to_json(notice())
    row = outbox.OutboxRow(1, 1, "", "alert", 0, notice=payload)
    first = renderer.render(row)
    assert renderer.render(row) is first  # the same string: not rendered again
    assert first == render_html(row)


def test_the_console_channel_prints_the_same_lines_without_markup() -> None:
    out: list[str] = []
    n = notice()
    ConsoleChannel(out.append).deliver(n)
    assert out == [alert_text(n.spec, n.fire, n.totals)]
    assert "A<B>&C" in out[0] and "<b>" not in out[0] and "&amp;" not in out[0]

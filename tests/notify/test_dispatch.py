"""Rows go to the channel they name (bot/notify/base.py): the real Telegram ``Sender``
against the fake Bot API, the console channel, and a toy second channel, from one real
SQLite outbox. Each channel renders its rows when it delivers them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

import pytest
from telegram import Bot

from bench.fakes.bot_api import FakeBotApi
from bot.alerts.notice import LiquidationNotice, from_json, to_json
from bot.alerts.rules import FIRST, Fire
from bot.domain import RuleSpec
from bot.notify.base import Channel, Dispatcher
from bot.notify.console import ConsoleChannel
from bot.notify.telegram.sender import Sender
from bot.text.alert import alert_text, format_alert
from bot.totals.result import CoinTotals, ExchangeTotals, Totals
from storage import outbox
from storage.db import DbThread
from storage.outbox import FAILED, PENDING, SENT, NewMessage, OutboxRow

M = 1e6


class ListChannel:
    """A second channel for the test: collects ``(address, rendered text)`` per row."""

    name = "list"

    def __init__(self) -> None:
        self.got: list[tuple[str | None, str]] = []
        self.rendered = 0

    def render(self, row: OutboxRow) -> str:
        self.rendered += 1
        assert row.notice is not None
        notice = from_json(row.notice)
        assert isinstance(notice, LiquidationNotice)
        return f"[{notice.spec.window}] {alert_text(notice.spec, notice.fire, notice.totals)}"

    def push(self, rows: Iterable[OutboxRow]) -> None:
        self.got += [(row.address, self.render(row)) for row in rows]

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass


def notice(coin: str = "A<B>&C") -> LiquidationNotice:
    totals = Totals(
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
    return LiquidationNotice(RuleSpec("1h", 100 * M), Fire(FIRST, 1, 120 * M, 100 * M), totals)


async def test_each_channel_gets_only_its_rows_rendered_when_delivered(
    fake: FakeBotApi, bot: Bot, dbt: DbThread, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    n = notice()
    payload = to_json(n)
    rows = await dbt.run(
        outbox.add,
        [
            NewMessage(1, "", "alert", payload),
            NewMessage(0, "", "alert", payload, "list", "inbox-a"),
            NewMessage(2, "", "alert", payload),
            NewMessage(0, "", "alert", payload, "console"),
            NewMessage(0, "", "alert", payload, "list", "inbox-b"),
            NewMessage(0, "", "alert", payload, "pager", "+1-555"),
        ],
        1_000,
    )
    assert all(r.text == "" for r in rows)  # nothing rendered when stored
    toy, printed = ListChannel(), list[str]()
    sender = Sender(bot, dbt)
    channels: list[Channel] = [sender, ConsoleChannel(printed.append), toy]
    dispatcher = Dispatcher(channels, dbt)
    await dispatcher.start()
    assert toy.rendered == 0
    dispatcher.push(rows)
    async with asyncio.timeout(10):
        await sender.drain()
        await dispatcher.drain()
    await dispatcher.stop()

    plain = alert_text(n.spec, n.fire, n.totals)
    assert toy.got == [("inbox-a", f"[1h] {plain}"), ("inbox-b", f"[1h] {plain}")]
    assert toy.rendered == 2
    assert printed == [plain]
    assert [fake.texts(c) for c in (1, 2)] == [[format_alert(n.spec, n.fire, n.totals)]] * 2
    assert len(fake.calls_to("sendMessage")) == 2  # no Telegram request for another channel
    stored = {r.id: r for r in await dbt.run(outbox.get, [r.id for r in rows])}
    assert stored[rows[0].id].status == SENT and stored[rows[2].id].status == SENT
    assert stored[rows[1].id].status == PENDING  # the toy channel keeps no outbox state
    pager = stored[rows[5].id]
    assert pager.status == FAILED and pager.reason == "no channel named 'pager'"
    assert dispatcher.unrouted == 1
    lines = [r for r in caplog.records if "no channel named" in r.getMessage()]
    assert len(lines) == 1 and lines[0].levelno == logging.WARNING
    assert not [r for r in caplog.records if r.exc_info]


async def test_two_channels_with_one_name_are_refused(bot: Bot, dbt: DbThread) -> None:
    with pytest.raises(ValueError, match="two channels named 'telegram'"):
        Dispatcher([Sender(bot, dbt), Sender(bot, dbt)], dbt)


def test_the_console_channel_renders_a_row_at_send_time_and_skips_an_unreadable_one(
    caplog: pytest.LogCaptureFixture,
) -> None:
    n = notice("ETH")
    out: list[str] = []
    channel = ConsoleChannel(out.append)
    good = OutboxRow(1, 0, "", "console", 1_000, notice=to_json(n), channel="console")
    bad = OutboxRow(2, 0, "", "console", 1_000, notice='{"kind": "whale"}', channel="console")
    channel.push([bad, good])
    assert out == [alert_text(n.spec, n.fire, n.totals)]
    assert "<b>" not in out[0]
    assert not [r for r in caplog.records if r.exc_info]

"""The Sender (telegram/sender.py): the real PTB ``Bot`` against the fake Bot API on loopback,
a real SQLite outbox, the real ChatService and AlertEngine behind it."""

from __future__ import annotations

import asyncio
import itertools
import logging
from dataclasses import replace

import pytest
from telegram import Bot

from bench.fakes.bot_api import FakeBotApi, check_telegram_html
from bot.alerts.liquidations import AlertEngine
from bot.app import build_application
from bot.chats import ChatService
from bot.cli import quiet_noisy_loggers
from bot.config import Settings
from bot.domain import RuleSpec
from bot.ingest.backoff import BackoffPolicy
from bot.notify.telegram.send_queue import Pacing
from bot.notify.telegram.sender import RetryPolicy, Sender
from bot.totals.index import TotalsIndex
from bot.totals.service import TotalsService
from bot.venues.registry import VENUES
from storage import chats, outbox
from storage.db import DbThread
from storage.outbox import FAILED, SENDING, SENT, NewMessage, OutboxRow
from tests.notify.conftest import TOKEN

FAST_RETRY = RetryPolicy(max_attempts=4, backoff=BackoffPolicy(base_s=0.02, cap_s=0.1))
# Refused requests count against a chat's pace too (the sender cannot know what Telegram
# counted); the fake only counts accepted ones, so retry tests may pace a chat faster.
QUICK_CHAT = Pacing(private_interval_s=0.05)


async def queue(dbt: DbThread, messages: list[tuple[int, str]]) -> list[OutboxRow]:
    return await dbt.run(outbox.add, [NewMessage(c, t) for c, t in messages], 1_000)


async def run_until_idle(sender: Sender, within: float = 10.0) -> None:
    async with asyncio.timeout(within):
        await sender.drain()


def send_calls(fake: FakeBotApi, chat_id: int) -> list[tuple[int, str | None]]:
    return [
        (c.status, c.params.get("text"))
        for c in fake.calls_to("sendMessage")
        if c.params.get("chat_id") == chat_id
    ]


async def test_fan_out_within_limits_each_chat_exactly_once(
    fake: FakeBotApi, bot: Bot, dbt: DbThread
) -> None:
    recipients = [*range(1, 37), -11, -12, -1001, -1002]
    rows = await queue(dbt, [(c, f"<b>alert</b> for {c}") for c in recipients])
    rows += await queue(dbt, [(5, f"<i>follow-up {i}</i>") for i in range(2)])
    sender = Sender(bot, dbt)
    await sender.start()
    sender.push(rows)
    sender.push(rows[:3])  # pushing the same rows again queues nothing twice
    await run_until_idle(sender)
    await sender.stop()

    assert fake.limit_violations == 0
    for c in recipients:
        expected = [f"<b>alert</b> for {c}"] + (
            ["<i>follow-up 0</i>", "<i>follow-up 1</i>"] if c == 5 else []
        )
        assert fake.texts(c) == expected
    for m in fake.sent:
        assert m.parse_mode == "HTML"
        assert m.params["link_preview_options"] == {"is_disabled": True}
        check_telegram_html(m.text or "")
    # One message a second to a private chat, however much is queued for it.
    times = [m.at for m in fake.sent if m.chat_id == 5]
    assert all(b - a >= 0.99 for a, b in itertools.pairwise(times))
    stored = await dbt.run(outbox.get, [r.id for r in rows])
    assert {r.status for r in stored} == {SENT} and all(r.attempts == 1 for r in stored)
    assert sender.stats.sent == len(rows) and sender.stats.retry_after == 0


async def test_retry_after_resends_the_same_message_once(
    fake: FakeBotApi, bot: Bot, dbt: DbThread
) -> None:
    fake.faults.flood_once(retry_after=1, chat_id=5)
    rows = await queue(dbt, [(5, "<b>flooded</b>"), (6, "other")])
    sender = Sender(bot, dbt)
    await sender.start()
    sender.push(rows)
    await run_until_idle(sender)
    await sender.stop()

    assert send_calls(fake, 5) == [(429, "<b>flooded</b>"), (200, "<b>flooded</b>")]
    assert fake.texts(5) == ["<b>flooded</b>"] and fake.texts(6) == ["other"]
    first, second = (c.at for c in fake.calls_to("sendMessage") if c.params["chat_id"] == 5)
    assert second - first >= 1.0  # waited the retry_after Telegram asked for
    assert sender.stats.retry_after == 1
    row = (await dbt.run(outbox.get, [rows[0].id]))[0]
    assert (row.status, row.attempts) == (SENT, 2)


async def test_forbidden_deactivates_the_chat_and_fails_its_messages(
    fake: FakeBotApi, bot: Bot, dbt: DbThread
) -> None:
    engine = AlertEngine(dbt, TotalsService(TotalsIndex(), VENUES))
    service = ChatService(dbt, {"1h": 100e6}, engine)
    for chat_id in (7, 8):
        await service.subscribe(chat_id, "private")
    assert len(engine.evaluator) == 2
    fake.faults.block(7)
    rows = await queue(dbt, [(7, "one"), (7, "two"), (8, "three")])
    sender = Sender(bot, dbt, chats=service)
    await sender.start()
    sender.push(rows)
    await run_until_idle(sender)
    await sender.stop()

    assert send_calls(fake, 7) == [(403, "one")]  # nothing more after the first refusal
    assert fake.texts(8) == ["three"]
    chat = await dbt.run(chats.get_chat, 7)
    assert chat is not None and not chat.active and chat.subscribed  # settings kept
    assert (7, "", "1h") not in engine.evaluator and (8, "", "1h") in engine.evaluator
    stored = await dbt.run(outbox.get, [r.id for r in rows])
    assert [r.status for r in stored] == [FAILED, FAILED, SENT]
    assert all("blocked by the user" in (r.reason or "") for r in stored[:2])
    assert sender.stats.gone == 1


async def test_chat_not_found_deactivates_the_chat(
    fake: FakeBotApi, bot: Bot, dbt: DbThread
) -> None:
    engine = AlertEngine(dbt, TotalsService(TotalsIndex(), VENUES))
    service = ChatService(dbt, {"1h": 100e6}, engine)
    await service.subscribe(9, "private")
    fake.faults.vanish(9)
    rows = await queue(dbt, [(9, "one"), (9, "two")])
    sender = Sender(bot, dbt, chats=service)
    await sender.start()
    sender.push(rows)
    await run_until_idle(sender)
    await sender.stop()

    assert send_calls(fake, 9) == [(400, "one")]  # nothing more after "chat not found"
    chat = await dbt.run(chats.get_chat, 9)
    assert chat is not None and not chat.active
    assert (9, "", "1h") not in engine.evaluator
    stored = await dbt.run(outbox.get, [r.id for r in rows])
    assert [r.status for r in stored] == [FAILED, FAILED]
    assert all("chat not found" in (r.reason or "").lower() for r in stored)


async def test_chat_migrated_moves_the_chat_and_resends_to_the_new_id(
    fake: FakeBotApi, bot: Bot, dbt: DbThread
) -> None:
    engine = AlertEngine(dbt, TotalsService(TotalsIndex(), VENUES))
    service = ChatService(dbt, {"1h": 100e6}, engine)
    await service.subscribe(-300, "group", "traders")
    await service.set_watch(-300, "BTC", 5e6, "15m")
    fake.faults.migrate(-300, -1003000)
    rows = await queue(dbt, [(-300, "<b>to the group</b>"), (-300, "second")])
    sender = Sender(bot, dbt, chats=service)
    await sender.start()
    sender.push(rows)
    await run_until_idle(sender)
    await sender.stop()

    assert [s for s, _ in send_calls(fake, -300)] == [400]
    assert fake.texts(-1003000) == ["<b>to the group</b>", "second"]
    assert await dbt.run(chats.get_chat, -300) is None
    moved = await dbt.run(chats.list_rules, -1003000)
    assert {r.spec for r in moved} == {RuleSpec("1h", 100e6), RuleSpec("15m", 5e6, "BTC")}
    assert set(engine.evaluator.keys()) == {(None, "1h"), ("BTC", "15m")}
    assert (-1003000, "BTC", "15m") in engine.evaluator and (
        -300,
        "",
        "1h",
    ) not in engine.evaluator
    stored = await dbt.run(outbox.get, [r.id for r in rows])
    assert [(r.chat_id, r.status) for r in stored] == [(-1003000, SENT), (-1003000, SENT)]


async def test_server_errors_are_retried_then_delivered(
    fake: FakeBotApi, bot: Bot, dbt: DbThread
) -> None:
    fake.faults.fail_next(500, count=2, method="sendMessage")
    rows = await queue(dbt, [(9, "after two 500s")])
    sender = Sender(bot, dbt, retry=FAST_RETRY, pacing=QUICK_CHAT)
    await sender.start()
    sender.push(rows)
    await run_until_idle(sender)
    await sender.stop()

    assert [s for s, _ in send_calls(fake, 9)] == [500, 500, 200]
    assert fake.texts(9) == ["after two 500s"]
    row = (await dbt.run(outbox.get, [rows[0].id]))[0]
    assert (row.status, row.attempts) == (SENT, 3)
    assert sender.stats.retried == 2


async def test_server_errors_use_up_no_attempts_and_bad_requests_fail_with_the_reason(
    fake: FakeBotApi, bot: Bot, dbt: DbThread, caplog: pytest.LogCaptureFixture
) -> None:
    # Issue 8 changed this: 502s are Telegram's trouble, so as many as the attempts
    # allowed no longer fail the message (it was FAILED "after 4 attempts"); a 400 still
    # fails at once, with its reason logged and stored.
    fake.faults.fail_next(502, count=4, method="sendMessage")  # as many as attempts allowed
    sender = Sender(bot, dbt, retry=FAST_RETRY, pacing=QUICK_CHAT)
    with caplog.at_level(logging.DEBUG, logger="bot"):
        await sender.start()
        rows = [await sender.submit(9, "gets through in the end")]
        await run_until_idle(sender)
        rows.append(await sender.submit(10, "<b>bad html"))
        await run_until_idle(sender)
        sender.push(rows)  # finished rows pushed again are not sent again
        await run_until_idle(sender)
        await sender.stop()

    through, bad = await dbt.run(outbox.get, [r.id for r in rows])
    assert (through.status, through.attempts) == (SENT, 5)
    assert [s for s, _ in send_calls(fake, 9)] == [502, 502, 502, 502, 200]
    assert bad.status == FAILED and "can't parse entities" in (bad.reason or "").lower()
    assert fake.texts(9) == ["gets through in the end"] and fake.texts(10) == []
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("bot"))
    assert f"message {through.id} to chat 9 not delivered" not in logged
    assert f"message {bad.id} to chat 10 not delivered: bad request" in logged
    assert TOKEN not in logged and TOKEN.split(":")[1] not in logged


async def test_an_outage_longer_than_the_attempts_loses_no_alert(
    fake: FakeBotApi, bot: Bot, dbt: DbThread
) -> None:
    # Every send fails (5xx, resets) for far more requests than max_attempts allows each
    # message, then Telegram recovers: each alert arrives once, none is marked failed.
    fake.faults.fail_next(500, count=15, method="sendMessage")
    fake.faults.reset_next(method="sendMessage")
    fake.faults.fail_next(503, count=15, method="sendMessage")
    rows = await queue(dbt, [(c, f"<b>alert</b> {c}") for c in (21, 22, 23)])
    sender = Sender(bot, dbt, retry=FAST_RETRY, pacing=QUICK_CHAT)
    await sender.start()
    sender.push(rows)
    await run_until_idle(sender, within=60)
    await sender.stop()

    statuses = [s for c in (21, 22, 23) for s, _ in send_calls(fake, c)]
    assert statuses.count(200) == 3 and len(statuses) >= 3 + 30
    for c in (21, 22, 23):
        assert fake.texts(c) == [f"<b>alert</b> {c}"]
    stored = await dbt.run(outbox.get, [r.id for r in rows])
    assert {r.status for r in stored} == {SENT} and sender.stats.failed == 0
    assert max(r.attempts for r in stored) > FAST_RETRY.max_attempts


async def test_restart_sends_pending_and_interrupted_rows_once(
    fake: FakeBotApi, bot: Bot, dbt: DbThread
) -> None:
    _, interrupted, done = await queue(dbt, [(21, "pending"), (22, "in flight"), (23, "x")])
    await dbt.run(
        outbox.update,
        [replace(interrupted, status=SENDING, attempts=1), replace(done, status=SENT, sent_ms=1)],
    )
    first = Sender(bot, dbt)
    assert await first.start() == 2
    await run_until_idle(first)
    await first.stop()
    second = Sender(bot, dbt)
    assert await second.start() == 0  # nothing left: a second restart sends nothing
    await second.stop()

    assert [(m.chat_id, m.text) for m in fake.sent] == [(21, "pending"), (22, "in flight")]
    assert await dbt.run(outbox.unfinished) == []


async def test_stop_leaves_queued_rows_for_the_next_start(
    fake: FakeBotApi, bot: Bot, dbt: DbThread
) -> None:
    rows = await queue(dbt, [(-31, "first"), (-31, "second, held back")])
    sender = Sender(bot, dbt, pacing=Pacing(group_per_window=1))  # one a minute to a group
    await sender.start()
    sender.push(rows)
    await fake.wait_sent(1)
    await sender.stop()
    assert [r.status for r in await dbt.run(outbox.get, [r.id for r in rows])] == [SENT, "pending"]

    again = Sender(bot, dbt)
    assert await again.start() == 1
    await run_until_idle(again)
    await again.stop()
    assert fake.texts(-31) == ["first", "second, held back"]
    assert fake.limit_violations == 0


async def test_submit_stores_then_sends(fake: FakeBotApi, bot: Bot, dbt: DbThread) -> None:
    sender = Sender(bot, dbt)
    await sender.start()
    row = await sender.submit(41, "<b>daily summary</b>", kind="summary")
    await run_until_idle(sender)
    await sender.stop()
    assert fake.texts(41) == ["<b>daily summary</b>"]
    (stored,) = await dbt.run(outbox.get, [row.id])
    assert (stored.kind, stored.status) == ("summary", SENT)


# ----- timeouts and faults below the JSON (issue 7, item 10) ---------------------------------


def app_bot_settings(fake: FakeBotApi) -> Settings:
    return Settings(telegram_token=TOKEN, telegram_api_url=fake.base_url)


async def test_a_slow_answer_within_the_send_timeout_is_not_sent_twice(
    fake: FakeBotApi, bot: Bot, dbt: DbThread
) -> None:
    # Accepted, answered after 6 s: past PTB's 5 s default, which made this a duplicate.
    fake.faults.answer_late(6.0, method="sendMessage")
    rows = await queue(dbt, [(5, "<b>slow but accepted</b>")])
    sender = Sender(bot, dbt)
    assert sender.retry.read_timeout_s >= 15
    await sender.start()
    sender.push(rows)
    await run_until_idle(sender, within=30)
    await sender.stop()
    assert fake.texts(5) == ["<b>slow but accepted</b>"]
    assert sender.stats.timed_out == 0 and sender.stats.retried == 0


async def test_a_timed_out_send_waits_before_it_is_resent(
    fake: FakeBotApi, bot: Bot, dbt: DbThread
) -> None:
    fake.faults.answer_late(0.6, method="sendMessage")  # accepted; the answer comes too late
    retry = replace(FAST_RETRY, read_timeout_s=0.3, timed_out_wait_s=0.8)
    rows = await queue(dbt, [(5, "answer lost")])
    sender = Sender(bot, dbt, retry=retry, pacing=QUICK_CHAT)
    await sender.start()
    sender.push(rows)
    await run_until_idle(sender)
    await sender.stop()
    first, second = (c.at for c in fake.calls_to("sendMessage"))
    assert second - first >= 0.3 + 0.8 - 0.05  # the read timeout, then at least the wait
    # Telegram has no idempotency key: the lost answer is one duplicate, counted.
    assert fake.texts(5) == ["answer lost", "answer lost"] and fake.late_answers == 1
    assert sender.stats.timed_out == 1
    (row,) = await dbt.run(outbox.get, [rows[0].id])
    assert (row.status, row.attempts) == (SENT, 2)


async def test_429_502_html_and_resets_are_logged_in_one_line_without_traceback(
    fake: FakeBotApi, dbt: DbThread, caplog: pytest.LogCaptureFixture
) -> None:
    app = build_application(app_bot_settings(fake))  # the app's bot: request backend, no limiter
    fake.faults.flood_once(retry_after=1, chat_id=5)
    fake.faults.html_error_next(502, count=2, method="sendMessage")
    fake.faults.reset_next(method="sendMessage")
    caplog.set_level(logging.DEBUG)
    quiet_noisy_loggers()  # what `liqwatch run` configures
    async with app.bot as bot:
        sender = Sender(bot, dbt, retry=FAST_RETRY, pacing=QUICK_CHAT)
        await sender.start()
        rows = [await sender.submit(5, "<b>flooded first</b>"), await sender.submit(6, "other")]
        await run_until_idle(sender)
        await sender.stop()
    assert fake.texts(5) == ["<b>flooded first</b>"] and fake.texts(6) == ["other"]
    statuses = sorted(c.status for c in fake.calls_to("sendMessage"))
    assert statuses == [0, 200, 200, 429, 502, 502]
    assert sender.stats.retry_after == 1 and sender.stats.retried == 3
    ours = [r for r in caplog.records if not r.name.startswith("aiohttp.access")]
    for record in ours:
        assert record.exc_info is None and "Traceback" not in record.getMessage(), record.name
        assert "<html>" not in record.getMessage()
    logged = [r.getMessage() for r in ours]
    assert not any("Rate limit hit" in m or "invalid JSON" in m for m in logged)
    assert sum("Bad Gateway (502)" in m for m in logged) == 2
    assert any("flood control" in m for m in logged)
    stored = await dbt.run(outbox.get, [r.id for r in rows])
    assert {r.status for r in stored} == {SENT}


async def test_rows_pushed_before_start_are_sent_once_and_not_counted_as_recovered(
    fake: FakeBotApi, bot: Bot, dbt: DbThread
) -> None:
    # While Telegram is not up yet the alert engine already commits and pushes its rows.
    sender = Sender(bot, dbt)
    early = await queue(dbt, [(51, "raised while Telegram was away")])
    sender.push(early)
    assert sender.queued == 1 and fake.sent == []  # nothing goes out before start
    assert await sender.start() == 0  # queued already: not "from a previous run"
    await run_until_idle(sender)
    await sender.stop()
    assert fake.texts(51) == ["raised while Telegram was away"]
    assert sender.stats.recovered == 0 and sender.stats.sent == 1

"""AlertEngine (bot/alerts/liquidations.py): a real SQLite file, a TotalsIndex fed known
liquidations, the real ChatService telling the engine; the messages are the outbox rows a
tick commits."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from telegram import Bot

from bench.fakes.bot_api import FakeBotApi, check_telegram_html
from bench.fakes.clock import Clock
from bot.alerts.liquidations import AlertEngine
from bot.chats import ChatService
from bot.domain import HOUR_MS, MINUTE_MS, Liquidation
from bot.ingest.aggregate import bucket_deltas
from bot.notify.telegram.render import render_html
from bot.notify.telegram.sender import Sender
from bot.totals.coverage import VenueCoverage
from bot.totals.index import TotalsIndex
from bot.totals.service import TotalsService
from bot.venues.registry import VENUES
from storage import chats, outbox
from storage.db import DbThread
from storage.outbox import OutboxRow

M = 1_000_000.0
T0 = 1_795_000_000_000 // HOUR_MS * HOUR_MS  # an hour boundary
DEFAULTS = {"1h": 100 * M, "24h": 1000 * M}


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def index() -> TotalsIndex:
    return TotalsIndex()


@pytest.fixture
def engine(dbt: DbThread, index: TotalsIndex, clock: Clock) -> AlertEngine:
    return AlertEngine(dbt, TotalsService(index, VENUES, now_ms=clock), now_ms=clock)


@pytest.fixture
def service(dbt: DbThread, engine: AlertEngine, clock: Clock) -> ChatService:
    return ChatService(dbt, DEFAULTS, engine, now_ms=clock)


def liq(
    index: TotalsIndex,
    usd: float,
    ts_ms: int,
    coin: str = "BTC",
    side: str = "long",
    venue: str = "binance",
) -> None:
    """One liquidation of ``usd`` at ``ts_ms``, through the real bucket aggregation."""
    symbol = f"{coin}USDT"
    index.apply(bucket_deltas([Liquidation(venue, symbol, coin, side, 1.0, usd, usd, ts_ms)]))


def sent_to(rows: list[OutboxRow]) -> list[int]:
    return sorted(r.chat_id for r in rows)


def headlines(rows: list[OutboxRow]) -> set[str]:
    return {render_html(r).split("\n")[0] for r in rows}


async def stored_level(dbt: DbThread, chat_id: int, window: str, coin: str = "") -> int:
    rules = await dbt.run(chats.list_rules, chat_id)
    (rule,) = [r for r in rules if r.spec.window == window and (r.spec.coin or "") == coin]
    return rule.state.level


async def test_fires_at_threshold_escalates_at_doublings_and_never_repeats(
    dbt: DbThread, index: TotalsIndex, engine: AlertEngine, service: ChatService, clock: Clock
) -> None:
    await service.subscribe(1, "private")
    liq(index, 99 * M, T0 + 5_000)
    clock.now = T0 + 10 * MINUTE_MS
    assert await engine.tick() == []

    liq(index, 1 * M, T0 + 6 * MINUTE_MS, side="short")
    first = await engine.tick()
    assert sent_to(first) == [1]
    assert first[0].kind == "alert" and first[0].status == "pending"
    lines = render_html(first[0]).split("\n")
    assert lines[:2] == ["🚨 $100M liquidated in 1h", "Crossed your $100M threshold."]
    assert "Longs $99M (99%) · Shorts $1M (1%) · 2 liquidations" in lines
    check_telegram_html(render_html(first[0]))
    assert await stored_level(dbt, 1, "1h") == 1  # committed with the row
    assert await engine.tick() == []  # still above: no repeat

    liq(index, 99.9 * M, T0 + 7 * MINUTE_MS)
    assert await engine.tick() == []  # 199.9M: not yet 2x
    liq(index, 0.1 * M, T0 + 7 * MINUTE_MS)
    second = await engine.tick()
    assert headlines(second) == {"🚨 $200M liquidated in 1h"}
    assert "⏫ Escalation: now 2× your $100M threshold." in render_html(second[0])
    liq(index, 500 * M, T0 + 8 * MINUTE_MS)
    third = await engine.tick()  # 700M: one escalation to 4x, not one per doubling
    assert len(third) == 1 and "now 4× your $100M threshold" in render_html(third[0])
    assert await stored_level(dbt, 1, "1h") == 4
    assert await dbt.run(outbox.unfinished) == first + second + third


async def test_rearms_only_below_80_percent(
    dbt: DbThread, index: TotalsIndex, engine: AlertEngine, service: ChatService, clock: Clock
) -> None:
    await service.subscribe(1, "private")
    liq(index, 100 * M, T0 + 1 * MINUTE_MS)
    clock.now = T0 + 2 * MINUTE_MS
    assert len(await engine.tick()) == 1
    # An hour later the first 100M has left the window; 85M is inside: not re-armed yet.
    liq(index, 85 * M, T0 + 50 * MINUTE_MS)
    clock.now = T0 + 62 * MINUTE_MS
    assert await engine.tick() == [] and await stored_level(dbt, 1, "1h") == 1
    liq(index, 15 * M, T0 + 61 * MINUTE_MS)  # back to 100M without having re-armed
    assert await engine.tick() == []
    clock.now = T0 + 112 * MINUTE_MS  # only the 15M is left: below 80M, re-armed
    assert await engine.tick() == [] and await stored_level(dbt, 1, "1h") == 0
    liq(index, 85 * M, T0 + 111 * MINUTE_MS)
    again = await engine.tick()
    assert headlines(again) == {"🚨 $100M liquidated in 1h"}


async def test_muted_chat_gets_nothing_and_no_backlog_after_unmute(
    dbt: DbThread, index: TotalsIndex, engine: AlertEngine, service: ChatService, clock: Clock
) -> None:
    for chat_id in (1, 2, -300):
        await service.subscribe(chat_id, "private" if chat_id > 0 else "group")
    await service.mute(2, 2 * HOUR_MS)
    liq(index, 120 * M, T0 + 1 * MINUTE_MS)
    clock.now = T0 + 2 * MINUTE_MS
    assert sent_to(await engine.tick()) == [-300, 1]
    assert await stored_level(dbt, 2, "1h") == 1  # its state advanced all the same
    assert engine.stats.muted_skipped == 1

    await service.unmute(2)
    assert await engine.tick() == []  # nothing saved up for it
    liq(index, 100 * M, T0 + 3 * MINUTE_MS)
    clock.now = T0 + 4 * MINUTE_MS
    assert sent_to(await engine.tick()) == [-300, 1, 2]  # the escalation reaches it


async def test_mute_expires_by_itself(
    index: TotalsIndex, engine: AlertEngine, service: ChatService, clock: Clock
) -> None:
    await service.subscribe(2, "private")
    await service.mute(2, 30 * MINUTE_MS)
    liq(index, 150 * M, T0 + 1 * MINUTE_MS)
    clock.now = T0 + 2 * MINUTE_MS
    assert await engine.tick() == []
    liq(index, 100 * M, T0 + 40 * MINUTE_MS)
    clock.now = T0 + 41 * MINUTE_MS
    assert sent_to(await engine.tick()) == [2]


async def test_restart_over_the_same_db_does_not_repeat(
    dbt: DbThread, index: TotalsIndex, engine: AlertEngine, service: ChatService, clock: Clock
) -> None:
    for chat_id in (1, 2):
        await service.subscribe(chat_id, "private")
    await service.set_watch(2, "ETH", 10 * M, "15m")
    await service.mute(1, HOUR_MS)
    liq(index, 130 * M, T0 + 1 * MINUTE_MS)
    liq(index, 12 * M, T0 + 1 * MINUTE_MS, coin="ETH", side="short")
    clock.now = T0 + 2 * MINUTE_MS
    before = await engine.tick()
    assert sent_to(before) == [2, 2]  # market 1h and the ETH watch; chat 1 is muted
    assert headlines(before) == {
        "🚨 $142M liquidated in 1h",
        "🚨 ETH: $12M liquidated in 15m",
    }

    restarted = AlertEngine(dbt, TotalsService(index, VENUES, now_ms=clock), now_ms=clock)
    assert await restarted.load() == 5  # 1h and 24h of each chat, and the ETH watch
    assert await restarted.tick() == []
    assert restarted.muted(1, clock.now)  # the mute survived too
    liq(index, 80 * M, T0 + 3 * MINUTE_MS)  # 222M: the escalation is still due once
    clock.now = T0 + 4 * MINUTE_MS
    assert sent_to(await restarted.tick()) == [2]
    assert await restarted.tick() == []


async def test_coin_watch_reads_the_coin_total_and_rule_changes_apply(
    index: TotalsIndex, engine: AlertEngine, service: ChatService, clock: Clock
) -> None:
    await service.subscribe(5, "private")
    await service.set_watch(5, "BTC", 20 * M, "1h")
    liq(index, 15 * M, T0 + 1 * MINUTE_MS, coin="BTC")
    liq(index, 40 * M, T0 + 1 * MINUTE_MS, coin="ETH")
    clock.now = T0 + 2 * MINUTE_MS
    assert await engine.tick() == []  # BTC 15M < 20M though the market is at 55M
    liq(index, 6 * M, T0 + 1 * MINUTE_MS, coin="BTC", venue="okx", side="short")
    (row,) = await engine.tick()
    assert render_html(row).startswith("🚨 BTC: $21M liquidated in 1h")
    assert "Venues: Binance $15M · OKX $6M" in render_html(row)
    assert "24h BTC: $21M, longs 71%" in render_html(row)

    # A threshold set while the total is already above it fires at the next tick.
    await service.set_threshold(5, "1h", 50 * M)
    (market,) = await engine.tick()
    assert render_html(market).startswith("🚨 $61M liquidated in 1h")
    assert "Top coins: ETH $40M · BTC $21M" in render_html(market)
    # /unwatch, /stop: nothing more.
    await service.remove_watch(5, "BTC")
    await service.unsubscribe(5)
    liq(index, 500 * M, T0 + 1 * MINUTE_MS, coin="BTC")
    assert await engine.tick() == [] and len(engine.evaluator) == 0


async def test_ticks_do_not_overlap(
    index: TotalsIndex, engine: AlertEngine, service: ChatService, clock: Clock
) -> None:
    for chat_id in range(1, 6):
        await service.subscribe(chat_id, "private")
    liq(index, 300 * M, T0 + 1 * MINUTE_MS)
    clock.now = T0 + 2 * MINUTE_MS
    results = await asyncio.gather(*(engine.tick() for _ in range(4)))
    assert sorted(len(r) for r in results) == [0, 0, 0, 5]


async def test_coverage_note_from_the_provider(
    index: TotalsIndex, dbt: DbThread, service: ChatService, clock: Clock
) -> None:
    asked: list[tuple[int, int]] = []

    def coverage(window_ms: int, end_ms: int) -> dict[str, VenueCoverage]:
        asked.append((window_ms, end_ms))
        gap = ((end_ms - 4 * MINUTE_MS, end_ms),)
        return {
            "binance": VenueCoverage("binance", True, False, (), 0),
            "bybit": VenueCoverage("bybit", False, True, gap, 4 * MINUTE_MS),
        }

    engine = AlertEngine(
        dbt, TotalsService(index, VENUES, coverage=coverage, now_ms=clock), now_ms=clock
    )
    service.attach(engine)
    await service.subscribe(1, "private")
    liq(index, 100 * M, T0 + 1 * MINUTE_MS)
    clock.now = T0 + 90_000
    (row,) = await engine.tick()
    assert asked == [(HOUR_MS, T0 + 2 * MINUTE_MS)]
    assert render_html(row).endswith(
        "<i>Binance publishes samples; Bybit all. Bybit was down 4m of this window.</i>"
    )


async def test_a_venue_down_for_long_is_named_at_the_top_of_the_alert(
    index: TotalsIndex, dbt: DbThread, service: ChatService, clock: Clock
) -> None:
    """The live feed health at compose time: OKX dropped 12 minutes ago and is still down."""
    from bot.ingest.health import SourceHealth
    from bot.totals.coverage import window_coverage

    okx = SourceHealth("okx")
    okx.expect(["ws"], T0 - HOUR_MS)
    okx.connection_up("ws", T0 - HOUR_MS)
    okx.message(T0 - HOUR_MS)
    okx.connection_down("ws", T0 + 90_000 - 12 * MINUTE_MS, "closed by server (code 1006)")

    def coverage(window_ms: int, end_ms: int) -> dict[str, VenueCoverage]:
        now = clock()
        rows = [("bybit", T0 - HOUR_MS, now, True), ("okx", T0 - HOUR_MS, now - 12 * MINUTE_MS)]
        runs = [(T0 - 2 * HOUR_MS, now, True)]
        cov = window_coverage(
            rows, ["bybit", "okx"], end_ms - window_ms, end_ms, now, 60_000, runs
        )
        return {**cov, "okx": cov["okx"].with_health(okx.outage_ms(now), 0)}

    engine = AlertEngine(
        dbt, TotalsService(index, VENUES, coverage=coverage, now_ms=clock), now_ms=clock
    )
    service.attach(engine)
    await service.subscribe(1, "private")
    liq(index, 100 * M, T0 + 1 * MINUTE_MS)
    clock.now = T0 + 90_000
    (row,) = await engine.tick()
    lines = render_html(row).split("\n")
    assert lines[0] == "⚠️ OKX down for 12m: figures below exclude it"
    assert lines[1].startswith("🚨 $100M liquidated in 1h")
    assert lines[-1] == (
        "<i>OKX publishes samples; Bybit all. OKX was down 12m (still down) of this window.</i>"
    )
    check_telegram_html(render_html(row))


async def test_no_data_at_all_is_not_a_drop_below_threshold(
    dbt: DbThread, engine: AlertEngine, service: ChatService, clock: Clock
) -> None:
    await service.subscribe(1, "private")
    assert await engine.tick() == []
    assert engine.stats.ticks == 1 and await stored_level(dbt, 1, "1h") == 0


@pytest.fixture
def _ptb_timedelta(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    yield


@pytest.mark.usefixtures("_ptb_timedelta")
async def test_alert_reaches_every_subscriber_through_the_sender(
    dbt: DbThread, index: TotalsIndex, service: ChatService, clock: Clock
) -> None:
    async with FakeBotApi(token="1:T", limits=True) as fake, Bot("1:T", fake.base_url) as bot:
        sender = Sender(bot, dbt, chats=service)
        engine = AlertEngine(dbt, TotalsService(index, VENUES, now_ms=clock), sender, now_ms=clock)
        service.attach(engine)
        await sender.start()
        recipients = [11, 12, 13, -500]
        for chat_id in recipients:
            await service.subscribe(chat_id, "private" if chat_id > 0 else "group")
        liq(index, 250 * M, T0 + 1 * MINUTE_MS, side="short")
        clock.now = T0 + 2 * MINUTE_MS
        rows = await engine.tick()
        async with asyncio.timeout(5):
            await sender.drain()
        await sender.stop()
    assert sorted(m.chat_id for m in fake.sent) == sorted(recipients)
    assert {m.text for m in fake.sent} == {render_html(rows[0])}
    assert "📈 Short squeeze: shorts were 100% of it" in render_html(rows[0])
    assert fake.limit_violations == 0 and fake.html_violations == []
    assert {r.status for r in await dbt.run(outbox.get, [r.id for r in rows])} == {"sent"}

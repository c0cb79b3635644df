"""FundingAlerts (bot/alerts/funding.py): a real SQLite file, the real ChatService for
subscriptions, watches and mutes, a real MarketState fed known polls; the messages are
the outbox rows each poll commits."""

from __future__ import annotations

import pytest

from bench.fakes.bot_api import check_telegram_html
from bench.fakes.clock import Clock
from bench.fakes.rule_sink import RecordingSink
from bot.alerts import funding as funding_alerts
from bot.alerts.fanout import FanoutSink
from bot.alerts.funding import FundingAlerts
from bot.chats import ChatService, NotSubscribed
from bot.domain import HOUR_MS, MINUTE_MS
from bot.market.state import MarketState
from bot.notify.telegram.render import render_html
from storage import outbox
from storage.db import DbThread
from storage.outbox import OutboxRow
from tests.fakes.market_figures import apply_poll, snap

T0 = 1_795_000_000_000 // HOUR_MS * HOUR_MS
# Open interest ranks the coins: BTC, ETH, SOL, then XYZ (top 2 in these tests).
OI = {"BTC": 5e9, "ETH": 3e9, "SOL": 1e9, "XYZ": 1e8}


class Outlet:
    def __init__(self) -> None:
        self.pushed: list[OutboxRow] = []

    def push(self, rows: object) -> None:
        self.pushed += list(rows)  # type: ignore[call-overload]


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def market(clock: Clock) -> MarketState:
    return MarketState(None, 60, clock=clock)


@pytest.fixture
def outlet() -> Outlet:
    return Outlet()


@pytest.fixture
def engine(dbt: DbThread, market: MarketState, clock: Clock, outlet: Outlet) -> FundingAlerts:
    return FundingAlerts(dbt, market, outlet, top_n=2, now_ms=clock)


@pytest.fixture
def service(dbt: DbThread, clock: Clock) -> ChatService:
    return ChatService(dbt, {}, RecordingSink(), now_ms=clock)


def poll(market: MarketState, clock: Clock, **rates: float) -> None:
    """One poll at the clock's time: each coin on Bybit (8 h interval) at its 8 h rate;
    coins not named keep a neutral +0.01 %."""
    clock.now += MINUTE_MS
    apply_poll(
        market,
        [
            snap("bybit", coin, clock.now, rate=rates.get(coin, 0.0001), oi_usd=oi)
            for coin, oi in OI.items()
        ],
    )


def to(rows: list[OutboxRow]) -> list[tuple[int, str]]:
    return sorted((r.chat_id, render_html(r).split("\n")[0]) for r in rows)


async def subscribed(service: ChatService, dbt: DbThread, clock: Clock, *chat_ids: int) -> None:
    for chat_id in chat_ids:
        await service.subscribe(chat_id, "private")
        await funding_alerts.set_threshold(dbt, chat_id, 0.001, clock())


async def test_fires_escalates_never_repeats_and_rearms_below_80_percent(
    dbt: DbThread, market: MarketState, clock: Clock, engine: FundingAlerts, service: ChatService
) -> None:
    await subscribed(service, dbt, clock, 1)
    poll(market, clock, BTC=0.00099)
    assert await engine.on_poll() == []
    poll(market, clock, BTC=0.0012)
    (first,) = await engine.on_poll()
    check_telegram_html(render_html(first))
    assert first.kind == "funding" and first.chat_id == 1
    assert render_html(first).split("\n") == [
        "💸 BTC funding +0.1200%/8h (APR +131.40%)",
        "Crossed your ±0.1000%/8h funding alert.",
        "OI-weighted 8h equivalent: longs pay shorts · open interest $5B",
        "<b>Bybit</b> BTCUSDT +0.1200%/8h",
    ]
    poll(market, clock, BTC=0.0019)
    assert await engine.on_poll() == []  # still above, not yet 2x: no repeat
    poll(market, clock, BTC=0.0021)
    (second,) = await engine.on_poll()
    assert render_html(second).split("\n")[:2] == [
        "💸 BTC funding +0.2100%/8h (APR +229.95%)",
        "⏫ Escalation: now 2× your ±0.1000%/8h funding alert.",
    ]
    poll(market, clock, BTC=0.00085)
    assert await engine.on_poll() == []  # 85 % of the threshold: not re-armed
    poll(market, clock, BTC=0.0011)
    assert await engine.on_poll() == []  # back above without having re-armed
    poll(market, clock, BTC=0.00079)
    assert await engine.on_poll() == []  # below 80 %: re-armed silently
    poll(market, clock, BTC=0.00105)
    assert to(await engine.on_poll()) == [(1, "💸 BTC funding +0.1050%/8h (APR +114.98%)")]
    assert len(await dbt.run(outbox.unfinished)) == 3


async def test_negative_funding_uses_the_magnitude_and_shows_the_sign(
    dbt: DbThread, market: MarketState, clock: Clock, engine: FundingAlerts, service: ChatService
) -> None:
    await subscribed(service, dbt, clock, 1)
    poll(market, clock, ETH=-0.0025)
    (row,) = await engine.on_poll()
    lines = render_html(row).split("\n")
    assert lines[0] == "💸 ETH funding −0.2500%/8h (APR −273.75%)"
    assert lines[1] == "Crossed your ±0.1000%/8h funding alert, already 2× over."
    assert lines[2].startswith("OI-weighted 8h equivalent: shorts pay longs")


async def test_top_coins_and_each_chats_watched_coins_only(
    dbt: DbThread, market: MarketState, clock: Clock, engine: FundingAlerts, service: ChatService
) -> None:
    await subscribed(service, dbt, clock, 1, 2)
    await service.set_watch(2, "XYZ", 5e6, "1h")
    # SOL is third by open interest (top 2 here) and watched by nobody; XYZ is watched by 2.
    poll(market, clock, SOL=0.01, XYZ=0.002, ETH=0.0015)
    rows = await engine.on_poll()
    assert to(rows) == [
        (1, "💸 ETH funding +0.1500%/8h (APR +164.25%)"),
        (2, "💸 ETH funding +0.1500%/8h (APR +164.25%)"),
        (2, "💸 XYZ funding +0.2000%/8h (APR +219.00%)"),
    ]
    assert render_html(rows[0]) == render_html(
        rows[1]
    )  # one text per (coin, fire), shared by the chats


async def test_muted_and_stopped_chats_get_nothing_and_no_backlog(
    dbt: DbThread, market: MarketState, clock: Clock, engine: FundingAlerts, service: ChatService
) -> None:
    await subscribed(service, dbt, clock, 1, 2, 3)
    await service.mute(2, HOUR_MS)
    await service.unsubscribe(3)
    poll(market, clock, BTC=0.0012)
    assert to(await engine.on_poll()) == [(1, "💸 BTC funding +0.1200%/8h (APR +131.40%)")]
    assert engine.stats.muted_skipped == 1
    await service.unmute(2)
    poll(market, clock, BTC=0.0013)
    assert await engine.on_poll() == []  # 2 advanced while muted: nothing afterwards
    poll(market, clock, BTC=0.0026)
    assert [r.chat_id for r in await engine.on_poll()] == [1, 2]


async def test_restart_never_repeats_and_settings_changes_take_effect(
    dbt: DbThread, market: MarketState, clock: Clock, engine: FundingAlerts, service: ChatService
) -> None:
    await subscribed(service, dbt, clock, 1, 2)
    poll(market, clock, BTC=0.0012)
    assert len(await engine.on_poll()) == 2
    again = FundingAlerts(dbt, market, None, top_n=2, now_ms=clock)  # a restarted process
    poll(market, clock, BTC=0.0012)
    assert await again.on_poll() == []
    # Off then on with the same threshold between two polls: a new alert, fires at once.
    assert await funding_alerts.clear_threshold(dbt, 1) == 0.001
    assert await funding_alerts.set_threshold(dbt, 1, 0.001, clock()) is None
    # A lower threshold for chat 2: its states re-arm against it (1.2x of 0.1 % = 0.12 %).
    await funding_alerts.set_threshold(dbt, 2, 0.0006, clock())
    poll(market, clock, BTC=0.0012)
    rows = await again.on_poll()
    assert to(rows) == [
        (1, "💸 BTC funding +0.1200%/8h (APR +131.40%)"),
        (2, "💸 BTC funding +0.1200%/8h (APR +131.40%)"),
    ]
    assert "already 2× over" in render_html(rows[1]) and "±0.0600%/8h" in render_html(rows[1])
    assert await funding_alerts.clear_threshold(dbt, 2) == 0.0006
    poll(market, clock, BTC=0.0030)
    assert [r.chat_id for r in await again.on_poll()] == [1]


async def test_stale_figures_are_not_evaluated(
    dbt: DbThread, market: MarketState, clock: Clock, engine: FundingAlerts, service: ChatService
) -> None:
    await subscribed(service, dbt, clock, 1)
    poll(market, clock, BTC=0.0012)
    clock.now += 10 * MINUTE_MS  # no poll for 10 minutes: the figures are stale
    assert await engine.on_poll() == []


async def test_group_migration_moves_the_setting_and_its_states(
    dbt: DbThread, market: MarketState, clock: Clock, engine: FundingAlerts, outlet: Outlet
) -> None:
    sink = RecordingSink()
    service = ChatService(dbt, {}, FanoutSink(sink, engine), now_ms=clock)
    await service.subscribe(-5, "group")
    await funding_alerts.set_threshold(dbt, -5, 0.001, clock())
    poll(market, clock, BTC=0.0012)
    assert [r.chat_id for r in await engine.on_poll()] == [-5]
    assert await service.migrate(-5, -1005)
    assert sink.calls == [("chat_migrated", -5, -1005)]
    await engine.migrate_chat(-5, -1005)  # what the sink scheduled, awaited here
    assert await funding_alerts.get_threshold(dbt, -1005) == 0.001
    poll(market, clock, BTC=0.0012)
    assert await engine.on_poll() == []  # the state moved too: no repeat
    poll(market, clock, BTC=0.0025)
    assert [r.chat_id for r in await engine.on_poll()] == [-1005]
    assert [r.chat_id for r in outlet.pushed] == [-5, -1005]


async def test_setting_needs_a_subscribed_chat_and_a_sane_rate(dbt: DbThread) -> None:
    with pytest.raises(NotSubscribed):
        await funding_alerts.set_threshold(dbt, 9, 0.001, T0)
    with pytest.raises(ValueError):
        await funding_alerts.set_threshold(dbt, 9, 0.5, T0)

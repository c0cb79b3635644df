"""Console mode's alerts: the default rules on real totals, printed as plain text."""

import html
import re
from collections.abc import Awaitable

import pytest

from bot.alerts.console import ConsoleAlerts
from bot.alerts.rules import FIRST, Fire
from bot.domain import MINUTE_MS, WINDOWS, BucketDelta, RuleSpec
from bot.market.context import MarketContext
from bot.market.lookup import window_context
from bot.market.state import MarketState
from bot.notify.console import ConsoleChannel
from bot.text.alert import format_alert
from bot.totals.index import TotalsIndex
from bot.totals.result import Totals
from storage.db import DbThread
from tests.fakes.market_figures import apply_poll, snap, store_poll

T0 = 1_791_590_400_000


def add(index: TotalsIndex, minute: int, usd: float, side: str = "long") -> None:
    key = (T0 + minute * MINUTE_MS, "bybit", "BTC", side)
    index.apply({key: BucketDelta(usd, 1, usd, key[0] + 1, "BTCUSDT")})


def console(index: TotalsIndex, now: list[int], out: list[str]) -> ConsoleAlerts:
    rules = {"1h": 100e6, "24h": 1e9}
    return ConsoleAlerts(
        rules, lambda w: index.query(w, now_ms=now[0]), ConsoleChannel(out.append).deliver
    )


async def test_fires_once_escalates_and_a_restart_does_not_repeat() -> None:
    index, out, now = TotalsIndex(), [], [T0 + 10 * MINUTE_MS]
    add(index, 1, 40e6)
    alerts = console(index, now, out)
    alerts.prime(now[0])
    assert await alerts.tick(now[0]) == 0

    add(index, 2, 80e6)  # 1h total $120M >= $100M
    assert await alerts.tick(now[0]) == 1
    assert out[0].startswith("🚨 $120M liquidated in 1h")
    assert "<" not in out[0]  # plain text for the terminal
    assert await alerts.tick(now[0] + 1000) == 0  # no repeat while it stays up

    add(index, 3, 90e6, "short")  # $210M: 2x the threshold -> one escalation
    assert await alerts.tick(now[0] + 2000) == 1
    assert "$210M" in out[1]

    restarted, out2 = console(index, now, []), []
    restarted.emit = out2.append
    restarted.prime(now[0] + 3000)  # already at 2x: nothing printed again
    assert await restarted.tick(now[0] + 3000) == 0 and out2 == []


async def test_console_and_telegram_state_the_same_facts_in_the_same_words() -> None:
    index, out, now = TotalsIndex(), [], [T0 + 10 * MINUTE_MS]
    alerts = console(index, now, out)
    alerts.prime(now[0])
    add(index, 1, 119.4e6)  # all longs: the share is exactly 100%
    add(index, 2, 0.6e6, "short")  # 0.5% shorts: "<1%", which must be escaped in HTML
    assert await alerts.tick(now[0]) == 1
    hour, day = (
        index.query(WINDOWS["1h"], now_ms=now[0]),
        index.query(WINDOWS["24h"], now_ms=now[0]),
    )
    telegram = format_alert(RuleSpec("1h", 100e6), Fire(FIRST, 1, 120e6, 100e6), hour, day)
    assert "(&lt;1%)" in telegram
    # Only the markup differs: the Telegram text without tags and entities is the console's.
    assert html.unescape(re.sub(r"<[^>]+>", "", telegram)) == out[0]
    lines = out[0].split("\n")
    assert lines[3] == "Longs $119.4M (>99%) · Shorts $600K (<1%) · 2 liquidations"
    # Prices were not looked up in console mode: no claim about them.
    assert "📉 Long squeeze: longs were >99% of it." in lines
    assert "price" not in out[0]


async def test_console_alert_carries_the_same_market_context_as_telegram(dbt: DbThread) -> None:
    index, out, now = TotalsIndex(), [], [T0 + 10 * MINUTE_MS]
    market = MarketState(dbt, 60, clock=lambda: now[0])
    start = now[0] - WINDOWS["1h"]
    before = [snap("bybit", "BTC", start - 30_000, rate=-0.0002, mark=100_000.0, oi_usd=6e9)]
    current = [snap("bybit", "BTC", now[0] - 30_000, rate=-0.0002, mark=96_000.0, oi_usd=5.4e9)]
    await store_poll(dbt, start - 30_000, before)
    await store_poll(dbt, now[0] - 30_000, current)
    apply_poll(market, current)

    def lookup(spec: RuleSpec, totals: Totals, at: int) -> Awaitable[MarketContext | None]:
        return window_context(market, totals, at, spec.coin)

    alerts = ConsoleAlerts(
        {"1h": 100e6},
        lambda w: index.query(w, now_ms=now[0]),
        ConsoleChannel(out.append).deliver,
        lookup,
    )
    alerts.prime(now[0])
    add(index, 1, 120e6)
    assert await alerts.tick(now[0]) == 1
    await alerts.drain()
    hour, day = (
        index.query(WINDOWS["1h"], now_ms=now[0]),
        index.query(WINDOWS["24h"], now_ms=now[0]),
    )
    context = await window_context(market, hour, now[0])
    telegram = format_alert(
        RuleSpec("1h", 100e6), Fire(FIRST, 1, 120e6, 100e6), hour, day, context
    )
    assert html.unescape(re.sub(r"<[^>]+>", "", telegram)) == out[0]
    assert "BTC: price −4.0% in 1h · funding −0.020%/8h → −0.020%/8h · OI $5.4B (−10.0%)" in out[0]
    assert (
        "📉 Long squeeze: longs 100% of $120M; BTC −4.0% in 1h; funding was −0.020%/8h"
        " (negative: shorts were paying longs), now −0.020%/8h; open interest −10.0%"
        " (deleveraging)"
    ) in out[0].split("\n")


async def test_a_failing_market_lookup_still_prints_the_alert(
    caplog: pytest.LogCaptureFixture,
) -> None:
    index, out, now = TotalsIndex(), [], [T0 + 10 * MINUTE_MS]

    async def broken(spec: RuleSpec, totals: Totals, at: int) -> MarketContext | None:
        raise OSError("database is locked")

    alerts = ConsoleAlerts(
        {"1h": 100e6},
        lambda w: index.query(w, now_ms=now[0]),
        ConsoleChannel(out.append).deliver,
        broken,
    )
    alerts.prime(now[0])
    add(index, 1, 120e6)
    add(index, 2, 130e6)
    assert await alerts.tick(now[0]) == 1
    await alerts.drain()
    assert len(out) == 1 and out[0].startswith("🚨 $250M liquidated in 1h")
    assert "📉 Long squeeze: longs were 100% of it." in out[0].split("\n")
    assert "market context for the console 1h alert failed" in caplog.text


async def test_console_alerts_run_through_the_one_pipeline() -> None:
    """Ingest pokes coalesce into ticks of the alert pipeline; states are kept in memory."""
    index, out, now = TotalsIndex(), [], [T0 + 10 * MINUTE_MS]
    alerts = ConsoleAlerts(
        {"1h": 100e6},
        lambda w: index.query(w, now_ms=now[0]),
        ConsoleChannel(out.append).deliver,
        now_ms=lambda: now[0],
    )
    alerts.prime(now[0])
    add(index, 1, 120e6)
    alerts.poke()
    alerts.poke()  # during the first tick: one more tick, not a second alert
    await alerts.drain()
    assert len(out) == 1 and out[0].startswith("🚨 $120M liquidated in 1h")
    assert (alerts.stats.alerts, alerts.stats.messages) == (1, 1)
    assert alerts.store.states[("console", "1h")].level == 1


async def test_a_broken_stdout_does_not_stop_the_next_alert(
    caplog: pytest.LogCaptureFixture,
) -> None:
    index, out, now = TotalsIndex(), [], [T0 + 10 * MINUTE_MS]

    def write(text: str) -> None:
        if "in 1h" in text:
            raise BrokenPipeError("stdout closed")
        out.append(text)

    alerts = ConsoleAlerts(
        {"1h": 100e6, "24h": 100e6},
        lambda w: index.query(w, now_ms=now[0]),
        ConsoleChannel(write).deliver,
    )
    alerts.prime(now[0])
    add(index, 1, 120e6)
    assert await alerts.tick(now[0]) == 2  # both committed, one printed
    assert len(out) == 1 and out[0].startswith("🚨 $120M liquidated in 24h")
    assert "printing the console 1h alert failed" in caplog.text

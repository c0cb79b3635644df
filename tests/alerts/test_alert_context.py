"""The market context in liquidation alerts: the AlertEngine with a real MarketState (polls
stored in SQLite through storage.market) adds the dominating coins' price, funding and
open-interest moves and one reading line built from them."""

from __future__ import annotations

import datetime as dtm
from decimal import Decimal

from bench.fakes.bot_api import check_telegram_html
from bench.fakes.clock import Clock
from bot.alerts.liquidations import AlertEngine
from bot.chats import ChatService
from bot.domain import HOUR_MS, MINUTE_MS, Liquidation, MarketSnapshot
from bot.ingest.aggregate import bucket_deltas
from bot.market.state import MarketState
from bot.notify.telegram.render import render_html
from bot.totals.index import TotalsIndex
from bot.totals.service import TotalsService
from bot.venues.registry import VENUES
from storage.db import DbThread
from tests.fakes.market_figures import apply_poll, pct, snap, store_poll

M = 1_000_000.0
T0 = 1_795_000_000_000 // HOUR_MS * HOUR_MS
NOW = T0 + 10 * MINUTE_MS  # the 1h window is [T0 - 50m, T0 + 10m)
START = NOW - HOUR_MS


def liquidate(index: TotalsIndex, coin: str, side: str, usd: float, ts: int) -> None:
    event = Liquidation("bybit", f"{coin}USDT", coin, side, 1.0, usd, usd, ts)
    index.apply(bucket_deltas([event]))


def btc_eth(
    ts: int, btc_mark: float, btc_oi: tuple[float, float], btc_rate: float
) -> list[MarketSnapshot]:
    return [
        snap("binance", "BTC", ts, rate=btc_rate, mark=btc_mark, oi_usd=btc_oi[0]),
        snap("bybit", "BTC", ts, rate=btc_rate, mark=btc_mark, oi_usd=btc_oi[1]),
        snap("bybit", "ETH", ts, rate=0.0001, mark=3000.0, oi_usd=1e9),
    ]


async def engine_with(
    dbt: DbThread, market: MarketState | None, index: TotalsIndex
) -> tuple[AlertEngine, ChatService]:
    clock = Clock(NOW)
    engine = AlertEngine(
        dbt, TotalsService(index, VENUES, market=market, now_ms=clock), now_ms=clock
    )
    service = ChatService(dbt, {"1h": 100 * M}, engine, now_ms=clock)
    await service.subscribe(1, "private")
    return engine, service


async def test_alert_carries_the_context_line_from_known_moves(dbt: DbThread) -> None:
    market = MarketState(dbt, 60, clock=Clock(NOW))
    # Just before the window: marks 100,000, OI $6B, funding +0.031%/8h; now: marks
    # 95,800, OI $5.634B, funding +0.008%/8h; ETH figures unchanged.
    await store_poll(
        dbt, START - MINUTE_MS, btc_eth(START - MINUTE_MS, 100_000.0, (3.2e9, 2.8e9), 0.00031)
    )
    now_snaps = btc_eth(NOW - 30_000, 95_800.0, (3.0e9, 2.634e9), 0.00008)
    await store_poll(dbt, NOW - 30_000, now_snaps)
    apply_poll(market, now_snaps)
    index = TotalsIndex()
    liquidate(index, "BTC", "long", 250 * M, NOW - 20 * MINUTE_MS)
    liquidate(index, "BTC", "short", 40 * M, NOW - 19 * MINUTE_MS)
    liquidate(index, "ETH", "long", 38.12 * M, NOW - 18 * MINUTE_MS)
    liquidate(index, "ETH", "short", 14.88 * M, NOW - 17 * MINUTE_MS)
    engine, _ = await engine_with(dbt, market, index)

    (row,) = await engine.tick()
    check_telegram_html(render_html(row))
    lines = render_html(row).split("\n")
    assert lines[0] == "🚨 $343M liquidated in 1h"
    price = Decimal(95_800) / Decimal(100_000) * 100 - 100
    oi = Decimal("5.634e9") / Decimal("6.0e9") * 100 - 100
    reading = (
        f"📉 Long squeeze: longs 84% of $343M; BTC {pct(price, 1)} in 1h;"
        " funding was +0.031%/8h (crowded longs), now +0.008%/8h;"
        f" open interest {pct(oi, 1)} (deleveraging)"
    )
    assert reading == (
        "📉 Long squeeze: longs 84% of $343M; BTC −4.2% in 1h; funding was +0.031%/8h"
        " (crowded longs), now +0.008%/8h; open interest −6.1% (deleveraging)"
    )
    assert reading in lines
    # ETH (15% of the window) is a dominating coin too; its figures did not move.
    i = lines.index(reading)
    assert lines[i - 2 : i] == [
        "BTC: price −4.2% in 1h · funding +0.031%/8h → +0.008%/8h · OI $5.63B (−6.1%)",
        "ETH: price 0.0% in 1h · funding +0.010%/8h → +0.010%/8h · OI $1B (0.0%)",
    ]
    assert not any("forced out as the price fell" in line for line in lines)


async def test_coin_alert_says_when_figures_are_missing_or_stale(dbt: DbThread) -> None:
    clock = Clock(NOW)
    market = MarketState(dbt, 60, clock=clock)
    # The last poll is 10 minutes old (stale after 3 polls of 60 s); nothing stored before.
    apply_poll(market, btc_eth(NOW - 10 * MINUTE_MS, 95_800.0, (3.0e9, 2.634e9), 0.00008))
    index = TotalsIndex()
    liquidate(index, "BTC", "short", 60 * M, NOW - 5 * MINUTE_MS)
    engine, service = await engine_with(dbt, market, index)
    await service.remove_threshold(1, "1h")
    await service.set_watch(1, "BTC", 50 * M, "1h")
    (row,) = await engine.tick()
    check_telegram_html(render_html(row))
    lines = render_html(row).split("\n")
    assert lines[0] == "🚨 BTC: $60M liquidated in 1h"
    assert "BTC: funding/OI data missing or stale" in lines
    assert "📈 Short squeeze: shorts 100% of $60M; funding/OI data missing or stale" in lines


async def test_without_market_the_alert_is_unchanged(dbt: DbThread) -> None:
    index = TotalsIndex()
    liquidate(index, "BTC", "long", 120 * M, NOW - 5 * MINUTE_MS)
    engine, _ = await engine_with(dbt, None, index)
    (row,) = await engine.tick()
    # No prices were looked up: the reading makes no claim about them.
    assert render_html(row).split("\n")[-3] == "📉 Long squeeze: longs were 100% of it."
    assert "funding" not in render_html(row)


async def test_fresh_install_compares_with_the_first_poll_inside_the_window(
    dbt: DbThread,
) -> None:
    """The reported case: no poll stored at the window's start (liqwatch started 16 min
    ago), BTC fell 4% since its first poll, /oi knew the open interest: the alert shows
    the price move and the OI change since that poll, and calls nothing missing."""
    market = MarketState(dbt, 60, clock=Clock(NOW))
    first = START + 24 * MINUTE_MS  # 06:54 in the example
    await store_poll(dbt, first, btc_eth(first, 100_000.0, (3.2e9, 2.8e9), -0.00012))
    now_snaps = btc_eth(NOW - 30_000, 96_000.0, (3.0e9, 2.634e9), -0.00012)
    await store_poll(dbt, NOW - 30_000, now_snaps)
    apply_poll(market, now_snaps)
    index = TotalsIndex()
    liquidate(index, "BTC", "long", 119.5 * M, NOW - 5 * MINUTE_MS)
    liquidate(index, "BTC", "short", 0.5 * M, NOW - 4 * MINUTE_MS)
    engine, _ = await engine_with(dbt, market, index)

    (row,) = await engine.tick()
    check_telegram_html(render_html(row))
    lines = render_html(row).split("\n")
    at = dtm.datetime.fromtimestamp(first / 1000, dtm.UTC).strftime("%H:%M UTC")
    oi = pct(Decimal("5.634e9") / Decimal("6.0e9") * 100 - 100, 1)
    assert "Longs $119.5M (&gt;99%) · Shorts $500K (&lt;1%) · 2 liquidations" in lines
    assert f"BTC: price −4.0% since {at} · funding −0.012%/8h → −0.012%/8h since {at}" in (
        "\n".join(lines)
    )
    reading = next(x for x in lines if x.startswith("📉"))
    assert reading == (
        f"📉 Long squeeze: longs &gt;99% of $120M; BTC −4.0% since {at};"
        f" funding was −0.012%/8h at {at} (negative: shorts were paying longs),"
        f" now −0.012%/8h; open interest {oi} since {at} (deleveraging)"
    )
    assert "missing" not in render_html(row) and "crowded shorts" not in render_html(row)

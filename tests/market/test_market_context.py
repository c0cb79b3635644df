"""The market context (bot/market/context.py): facts and the one reading line from known
funding, open interest and prices before and after a window."""

from __future__ import annotations

from decimal import Decimal

from bot.domain import HOUR_MS, MINUTE_MS, CoinMarket
from bot.market.context import (
    MISSING,
    CoinMove,
    build_context,
    dominant_coins,
    usable,
)
from bot.totals.result import CoinTotals, ExchangeTotals, Totals
from tests.fakes.market_figures import by_coin, pct, snap

M = 1_000_000.0
END = 1_795_000_000_000 // HOUR_MS * HOUR_MS
START = END - HOUR_MS
STALE = 3 * MINUTE_MS


def window(long_usd: float, short_usd: float, coins: dict[str, tuple[float, float]]) -> Totals:
    return Totals(
        window="1h",
        start_ms=START,
        end_ms=END,
        long_usd=long_usd,
        short_usd=short_usd,
        long_count=10,
        short_count=3,
        by_exchange={"bybit": ExchangeTotals(long_usd, short_usd, 10, 3)},
        by_coin={c: CoinTotals(lu, su, 1, 1) for c, (lu, su) in coins.items()},
        largest=None,
    )


def btc(ts: int, mark: float, oi: tuple[float, float], rate: float) -> CoinMarket:
    (cm,) = by_coin(
        ts,
        [
            snap("binance", "BTC", ts, rate=rate, mark=mark, oi_usd=oi[0]),
            snap("bybit", "BTC", ts, rate=rate, mark=mark, oi_usd=oi[1]),
        ],
    )
    return cm


BEFORE = btc(START - MINUTE_MS, 100_000.0, (3.2e9, 2.8e9), 0.00031)
NOW = btc(END - 30_000, 95_800.0, (3.0e9, 2.634e9), 0.00008)
SQUEEZE = window(288.12 * M, 54.88 * M, {"BTC": (250 * M, 40 * M), "ETH": (38.12 * M, 14.88 * M)})


def test_long_squeeze_reading_from_known_moves() -> None:
    ctx = build_context(SQUEEZE, [CoinMove("BTC", BEFORE, NOW)], END, STALE)
    # Independently: price over both venues' marks, OI over both venues, funding OI-weighted
    # (equal rates, so the rate itself).
    price = Decimal(2 * 95_800) / Decimal(2 * 100_000) * 100 - 100
    oi = (Decimal("3.0e9") + Decimal("2.634e9")) / (
        Decimal("3.2e9") + Decimal("2.8e9")
    ) * 100 - 100
    assert pct(price, 1) == "−4.2%" and pct(oi, 1) == "−6.1%"
    assert ctx.reading == (
        f"Long squeeze: longs 84% of $343M; BTC {pct(price, 1)} in 1h;"
        " funding was +0.031%/8h (crowded longs), now +0.008%/8h;"
        f" open interest {pct(oi, 1)} (deleveraging)"
    )
    assert ctx.fact_lines() == [
        "BTC: price −4.2% in 1h · funding +0.031%/8h → +0.008%/8h · OI $5.63B (−6.1%)"
    ]


def test_short_squeeze_and_two_sided_readings() -> None:
    up = btc(END - 30_000, 104_000.0, (3.3e9, 2.9e9), -0.00015)
    before = btc(START - MINUTE_MS, 100_000.0, (3.2e9, 2.8e9), -0.0002)
    shorts = window(10 * M, 90 * M, {"BTC": (10 * M, 90 * M)})
    ctx = build_context(shorts, [CoinMove("BTC", before, up)], END, STALE)
    assert ctx.reading == (
        "Short squeeze: shorts 90% of $100M; BTC +4.0% in 1h;"
        " funding was −0.020%/8h (crowded shorts), now −0.015%/8h;"
        " open interest +3.3% (positions added)"
    )
    flat = btc(END - 30_000, 100_000.0, (3.2e9, 2.8e9), 0.0001)
    base = btc(START - MINUTE_MS, 100_000.0, (3.2e9, 2.8e9), 0.0001)
    mixed = window(55 * M, 45 * M, {"BTC": (55 * M, 45 * M)})
    ctx = build_context(mixed, [CoinMove("BTC", base, flat)], END, STALE)
    assert ctx.reading == (
        "Two-sided: longs 55%, shorts 45% of $100M; BTC 0.0% in 1h;"
        " funding was +0.010%/8h, now +0.010%/8h; open interest 0.0%"
    )


def test_missing_or_stale_figures_are_said_not_invented() -> None:
    stale_now = btc(END - STALE - 1, 95_800.0, (3.0e9, 2.634e9), 0.00008)
    ctx = build_context(SQUEEZE, [CoinMove("BTC", BEFORE, stale_now)], END, STALE)
    # Without a current poll only the funding before the window is a fact.
    assert ctx.reading == (
        "Long squeeze: longs 84% of $343M; funding was +0.031%/8h (crowded longs);"
        " OI data missing or stale"
    )
    ctx = build_context(SQUEEZE, [CoinMove("BTC", None, None)], END, STALE)
    assert ctx.reading == f"Long squeeze: longs 84% of $343M; {MISSING}"
    assert ctx.fact_lines() == [f"BTC: {MISSING}"]
    # A "before" from long before the window is no "before".
    old = btc(START - HOUR_MS, 100_000.0, (3.2e9, 2.8e9), 0.00031)
    assert usable(CoinMove("BTC", old, NOW), START, END, STALE) == (None, NOW)
    ctx = build_context(SQUEEZE, [CoinMove("BTC", old, NOW)], END, STALE)
    # The current figures are there: they are shown, not called missing.
    assert ctx.reading == (
        "Long squeeze: longs 84% of $343M; funding now +0.008%/8h; open interest $5.63B;"
        " no earlier poll in the window to compare"
    )
    assert build_context(SQUEEZE, [], END, STALE).reading.endswith(MISSING)


def test_dominant_coins() -> None:
    assert dominant_coins(SQUEEZE) == ["BTC", "ETH"]
    assert dominant_coins(SQUEEZE, "SOL") == ["SOL"]
    thin = window(100 * M, 0, {"BTC": (95 * M, 0), "ETH": (3 * M, 0), "SOL": (2 * M, 0)})
    assert dominant_coins(thin) == ["BTC"]
    assert dominant_coins(window(0, 0, {})) == []

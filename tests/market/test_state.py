"""MarketState: latest per venue symbol, staleness, and history through a real DB thread."""

import math

import pytest

from bench.fakes.clock import Clock
from bot.domain import HOUR_MS, MINUTE_MS, MarketSnapshot, coin_market
from bot.market.state import MarketState
from storage.db import DbThread
from storage.market import write_market

T0 = 1_791_590_400_000


def snap(venue: str, symbol: str, coin: str, ts: int, oi: float | None, mark: float = 100.0,
         rate: float = 0.0001, interval: float = 8.0) -> MarketSnapshot:  # fmt: skip
    return MarketSnapshot(venue, symbol, coin, ts, rate, interval, None, mark, None, oi)


def test_latest_per_symbol_and_staleness() -> None:
    clock = Clock(T0)
    state = MarketState(None, 60.0, clock=clock)
    assert state.stale_after_ms == 180_000
    state.apply(
        [snap("binance", "BTCUSDT", "BTC", T0, 8e9), snap("okx", "BTC-USDT-SWAP", "BTC", T0, 2e9)]
    )
    state.apply([snap("binance", "BTCUSDT", "BTC", T0 - 60_000, 1.0)])  # older: ignored
    btc = state.coin("btc")
    assert btc is not None and btc.oi_usd == 10e9 and btc.ts_ms == T0
    clock.now = T0 + 120_000
    state.apply([snap("binance", "BTCUSDT", "BTC", clock.now, 9e9)])
    clock.now = T0 + 180_001  # OKX's snapshot is now stale: it drops out
    btc = state.coin("BTC")
    assert btc is not None and [s.venue for s in btc.venues] == ["binance"] and btc.oi_usd == 9e9
    assert state.age_ms("BTC", "okx") == 180_001
    assert state.age_ms("BTC") == 60_001
    assert state.age_ms() == 60_001
    clock.now = T0 + 120_000 + 180_001
    assert state.coin("BTC") is None and state.known("BTC")
    assert state.age_ms("ETH") is None


def test_coins_sorted_by_open_interest() -> None:
    state = MarketState(None, 60.0, clock=Clock(T0))
    state.apply(
        [
            snap("bybit", "ETHUSDT", "ETH", T0, 3e9),
            snap("bybit", "BTCUSDT", "BTC", T0, 9e9),
            snap("bybit", "DOGEUSDT", "DOGE", T0, None),
            snap("okx", "ETH-USDT-SWAP", "ETH", T0, 7e9),
        ]
    )
    assert [(m.coin, m.oi_usd) for m in state.coins()] == [
        ("ETH", 10e9),
        ("BTC", 9e9),
        ("DOGE", None),
    ]


def test_forgets_coins_stale_for_a_day() -> None:
    clock = Clock(T0)
    state = MarketState(None, 60.0, clock=clock)
    state.apply([snap("bybit", "OLDUSDT", "OLD", T0, 1e6)])
    clock.now = T0 + 24 * HOUR_MS + 1
    state.apply([snap("bybit", "BTCUSDT", "BTC", clock.now, 1e9)])
    assert not state.known("OLD") and state.known("BTC")


async def test_history_coin_at_and_changes(dbt: DbThread) -> None:
    clock = Clock(T0 + HOUR_MS)
    state = MarketState(dbt, 60.0, clock=clock)
    then = [
        snap("bybit", "BTCUSDT", "BTC", T0, 5e9, mark=100_000.0, rate=0.0003),
        snap("okx", "BTC-USDT-SWAP", "BTC", T0, 3e9, mark=100_010.0, rate=0.0002),
        snap("bybit", "ETHUSDT", "ETH", T0, 2e9, mark=4000.0),
        snap("bybit", "GONEUSDT", "GONE", T0, 1e6),
    ]
    await dbt.run(
        write_market,
        T0,
        then,
        [coin_market(c, T0, [s for s in then if s.coin == c]) for c in ("BTC", "ETH", "GONE")],
    )
    now = [
        snap("bybit", "BTCUSDT", "BTC", clock.now, 4.5e9, mark=96_000.0),
        snap("okx", "BTC-USDT-SWAP", "BTC", clock.now, 2.4e9, mark=96_020.0),
        snap("binance", "BTCUSDT", "BTC", clock.now, 7e9, mark=96_010.0),  # new: not compared
        snap("bybit", "ETHUSDT", "ETH", clock.now, 2.2e9, mark=4100.0),
        snap("bybit", "NEWUSDT", "NEW", clock.now, 1e6),
    ]
    state.apply(now)
    await dbt.run(write_market, clock.now, now, state.coins())

    before = await state.coin_at("btc", T0 + 30_000)
    assert before is not None and before.ts_ms == T0
    expected_f8 = (0.0003 * 5e9 + 0.0002 * 3e9) / 8e9
    assert before.funding_8h == pytest.approx(expected_f8, rel=1e-12)
    assert await state.coin_at("BTC", T0 - 1) is None
    assert await state.coin_at("BTC", T0 + 30 * MINUTE_MS) is None  # no poll near then

    changes = await state.changes(HOUR_MS)
    assert [c.coin for c in changes] == ["BTC", "ETH"]  # biggest drop first; GONE/NEW left out
    btc, eth = changes
    assert btc.oi_change == pytest.approx(math.fsum([4.5e9, 2.4e9]) / 8e9 - 1, rel=1e-12)
    assert btc.price_change == pytest.approx(
        (96_000 + 96_020) / (100_000 + 100_010) - 1, rel=1e-12
    )
    assert btc.now.oi_usd == math.fsum([4.5e9, 2.4e9, 7e9])
    assert eth.oi_change == pytest.approx(0.1, rel=1e-12)
    assert eth.price_change == pytest.approx(0.025, rel=1e-12)
    assert await state.changes(2 * HOUR_MS) == []  # nothing stored that long ago

    fresh = MarketState(dbt, 60.0, clock=clock)
    assert await fresh.load() == len(now)
    assert fresh.coin("BTC") == state.coin("BTC")


async def test_coin_since_takes_the_first_poll_inside_the_window(dbt: DbThread) -> None:
    """A fresh install (or a gap in the polls): nothing stored at the window's start, so
    the first poll inside it that has the coin is the window's "before"."""
    clock = Clock(T0 + HOUR_MS)
    state = MarketState(dbt, 60.0, clock=clock)
    start = T0
    polls = {
        T0 + 4 * MINUTE_MS: [snap("bybit", "ETHUSDT", "ETH", T0 + 4 * MINUTE_MS, 2e9)],
        T0 + 6 * MINUTE_MS: [
            snap("bybit", "BTCUSDT", "BTC", T0 + 6 * MINUTE_MS, 1e9, mark=100_000.0),
            snap("bybit", "ETHUSDT", "ETH", T0 + 6 * MINUTE_MS, 2e9),
        ],
        T0 + 30 * MINUTE_MS: [snap("bybit", "BTCUSDT", "BTC", T0 + 30 * MINUTE_MS, 9e8)],
    }
    for ts, snaps in polls.items():
        coins = {s.coin for s in snaps}
        await dbt.run(
            write_market,
            ts,
            snaps,
            [coin_market(c, ts, [s for s in snaps if s.coin == c]) for c in coins],
        )
    # BTC is absent from the first poll inside the window (04 min): its first is 06 min.
    btc = await state.coin_since("btc", start, clock.now)
    assert btc is not None and btc.ts_ms == T0 + 6 * MINUTE_MS and btc.oi_usd == 1e9
    eth = await state.coin_since("ETH", start, clock.now)
    assert eth is not None and eth.ts_ms == T0 + 4 * MINUTE_MS
    # A poll at (or just before) the start is still preferred over one inside the window.
    assert (await state.coin_since("ETH", T0 + 5 * MINUTE_MS, clock.now)).ts_ms == (  # type: ignore[union-attr]
        T0 + 4 * MINUTE_MS
    )
    # Nothing stored for the coin in the window (or before its end): None, said as missing.
    assert await state.coin_since("SOL", start, clock.now) is None
    assert await state.coin_since("BTC", start, T0 + 5 * MINUTE_MS) is None
    assert await MarketState(None, 60.0, clock=clock).coin_since("BTC", start, clock.now) is None

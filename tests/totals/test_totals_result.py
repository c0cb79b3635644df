"""The Totals answer: window arithmetic and names, JSON shape, venue listing, top coins."""

from __future__ import annotations

import json

import pytest

from bot.domain import HOUR_MS, LONG, MINUTE_MS, SHORT, WINDOWS, Liquidation
from bot.ingest.aggregate import bucket_deltas
from bot.totals.query import TotalsIndex, window_bounds, window_name

T0 = 1_767_225_600_000  # 2026-01-01T00:00Z, on an hour boundary


def liq(
    ts: int, usd: float, venue: str = "bybit", coin: str = "BTC", side: str = LONG
) -> Liquidation:
    return Liquidation(venue, coin + "USDT", coin, side, 1.0, usd, usd, ts)


def test_end_is_rounded_up_to_the_minute() -> None:
    assert window_bounds(HOUR_MS, T0 + 1) == (T0 + MINUTE_MS - HOUR_MS, T0 + MINUTE_MS)
    assert window_bounds(HOUR_MS, T0) == (T0 - HOUR_MS, T0)
    assert window_bounds(HOUR_MS, T0 + MINUTE_MS - 1) == (T0 + MINUTE_MS - HOUR_MS, T0 + MINUTE_MS)
    index = TotalsIndex()
    index.apply(bucket_deltas([liq(T0 + 30_000, 5.0)]))
    # Asked at 00:00:00.001 the window runs to 00:01, so the event at 00:00:30 counts.
    assert index.query(5 * MINUTE_MS, T0 + 1).total_usd == 5.0
    # Asked exactly at 00:00 the window ends there.
    assert index.query(5 * MINUTE_MS, T0).total_usd == 0.0


def test_window_names_and_invalid_windows() -> None:
    assert [window_name(ms) for ms in WINDOWS.values()] == list(WINDOWS)
    assert window_name(90 * MINUTE_MS) == "90m"
    assert window_name(2 * HOUR_MS) == "2h"
    assert window_name(3 * 24 * HOUR_MS) == "3d"
    for bad in (0, -MINUTE_MS, MINUTE_MS + 1):
        with pytest.raises(ValueError, match="whole number of minutes"):
            window_bounds(bad, T0)


def test_end_defaults_to_now_ms() -> None:
    index = TotalsIndex()
    index.apply(bucket_deltas([liq(T0 + 10, 3.5)]))
    assert index.query(MINUTE_MS, now_ms=T0 + 20).total_usd == 3.5
    assert index.query(MINUTE_MS, now_ms=T0 + 2 * MINUTE_MS).total_usd == 0.0


def test_venue_filter_lists_each_asked_venue() -> None:
    index = TotalsIndex()
    index.apply(bucket_deltas([liq(T0, 5.0, "binance"), liq(T0, 7.0, "okx", side=SHORT)]))
    t = index.query(MINUTE_MS, T0 + 1, venues=["OKX", "bybit"])
    assert list(t.by_exchange) == ["okx", "bybit"]
    assert t.total_usd == 7.0
    assert t.by_exchange["bybit"].count == 0
    assert index.query(MINUTE_MS, T0 + 1).total_usd == 12.0


def test_json_has_exactly_the_contract_keys() -> None:
    index = TotalsIndex()
    index.apply(
        bucket_deltas([liq(T0 + 1, 5.0, "Bybit", "btc"), liq(T0 + 2, 2.0, "okx", "eth", SHORT)])
    )
    out = index.query(WINDOWS["5m"], T0 + 1).to_json()
    assert set(out) == {
        "window",
        "start_ms",
        "end_ms",
        "total_usd",
        "long_usd",
        "short_usd",
        "count",
        "by_exchange",
        "by_coin",
        "largest",
        "coverage",
    }
    four = {"total_usd", "long_usd", "short_usd", "count"}
    assert set(out["by_exchange"]) == {"bybit", "okx"}
    assert set(out["by_coin"]) == {"BTC", "ETH"}
    assert all(set(v) == four for v in out["by_exchange"].values())
    assert all(set(v) == four for v in out["by_coin"].values())
    assert out["by_coin"]["ETH"] == {
        "total_usd": 2.0,
        "long_usd": 0.0,
        "short_usd": 2.0,
        "count": 1,
    }
    assert set(out["largest"]) == {"exchange", "coin", "side", "usd", "ts_ms"}
    assert out["window"] == "5m"
    assert out["coverage"] == {}
    assert json.loads(json.dumps(out)) == out
    assert TotalsIndex().query(HOUR_MS, T0).to_json()["largest"] is None


def test_top_coins_sorted_by_total_descending() -> None:
    index = TotalsIndex()
    index.apply(
        bucket_deltas(
            [
                liq(T0, 10.0, coin="ETH"),
                liq(T0, 30.0, coin="BTC", side=SHORT),
                liq(T0, 5.0, "okx", coin="SOL"),
                liq(T0, 26.0, "okx", coin="ETH"),
            ]
        )
    )
    t = index.query(MINUTE_MS, T0 + 1)
    assert [(c, v.total_usd) for c, v in t.top_coins(2)] == [("ETH", 36.0), ("BTC", 30.0)]
    assert len(t.top_coins(10)) == 3

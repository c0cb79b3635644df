"""Funding / open-interest history on a real SQLite file: round trip, "coin at T", thinning."""

import math
from dataclasses import astuple
from pathlib import Path

import pytest
from sqlite_utils import Database

from bot.domain import HOUR_MS, MINUTE_MS, CoinMarket, MarketSnapshot, coin_market
from storage.db import open_db
from storage.market import (
    DAY_MS,
    poll_times,
    prune_market,
    read_coin_at,
    read_coins,
    read_market_at,
    resolution_at,
    write_market,
)

T0 = 1_791_590_400_000  # 2026-10-10 00:00 UTC, an hour boundary
FILL = 3 * MINUTE_MS


@pytest.fixture
def db(tmp_path: Path) -> Database:
    return open_db(tmp_path / "market.db")


def snap(
    venue: str, symbol: str, coin: str, ts: int, oi_usd: float | None, **kw: object
) -> MarketSnapshot:
    fields: dict[str, object] = {
        "funding_rate": 0.0001,
        "funding_interval_h": 8.0,
        "next_funding_ms": ts + HOUR_MS,
        "mark_price": 100.0,
        "oi_base": None if oi_usd is None else oi_usd / 100.0,
        "oi_usd": oi_usd,
    }
    fields.update(kw)
    return MarketSnapshot(venue, symbol, coin, ts, **fields)  # type: ignore[arg-type]


def store(db: Database, ts: int, snaps: list[MarketSnapshot]) -> list[CoinMarket]:
    by_coin: dict[str, list[MarketSnapshot]] = {}
    for s in snaps:
        by_coin.setdefault(s.coin, []).append(s)
    coins = [coin_market(c, ts, ss) for c, ss in by_coin.items()]
    write_market(db, ts, snaps, coins)
    return coins


def test_round_trip_every_field(db: Database) -> None:
    snaps = [
        snap("binance", "BTCUSDT", "BTC", T0, 8.5e9, funding_rate=-0.00012, mark_price=101_234.5),
        snap("okx", "BTC-USDT-SWAP", "BTC", T0, 3.25e9, funding_interval_h=4.0, predicted=True,
             settled_rate=0.0000145824401745),
        snap("bybit", "1000PEPEUSDT", "PEPE", T0, None, funding_rate=None, funding_interval_h=None,
             next_funding_ms=None, mark_price=None),
    ]  # fmt: skip
    store(db, T0, snaps)
    btc = read_coin_at(db, "BTC", T0, FILL, FILL)
    assert btc is not None and btc.ts_ms == T0
    assert [astuple(s) for s in btc.venues] == [astuple(s) for s in snaps[:2]]
    assert btc.oi_usd == math.fsum([8.5e9, 3.25e9])
    expected = (-0.00012 * 8.5e9 + 0.0001 * 2 * 3.25e9) / (8.5e9 + 3.25e9)
    assert btc.funding_8h == pytest.approx(expected, rel=1e-12)
    pepe = read_coin_at(db, "PEPE", T0, FILL, FILL)
    assert pepe is not None and [astuple(s) for s in pepe.venues] == [astuple(snaps[2])]
    assert read_coins(db, T0) == [
        ("BTC", btc.oi_usd, btc.funding_8h, btc.mark_price),
        ("PEPE", None, None, None),
    ]


def test_coin_nearest_before_and_gaps(db: Database) -> None:
    for i, oi in enumerate([1e9, 1.1e9, 1.2e9]):
        store(db, T0 + i * MINUTE_MS, [snap("bybit", "ETHUSDT", "ETH", T0 + i * MINUTE_MS, oi)])
    at = read_coin_at(db, "ETH", T0 + MINUTE_MS + 59_999, FILL, FILL)
    assert at is not None and at.ts_ms == T0 + MINUTE_MS and at.oi_usd == 1.1e9
    assert read_coin_at(db, "ETH", T0 - 1, FILL, FILL) is None  # nothing before
    late = T0 + 2 * MINUTE_MS + FILL + 1
    assert read_coin_at(db, "ETH", late, FILL, FILL) is None  # last poll too long before
    assert read_coin_at(db, "XRP", T0 + MINUTE_MS, FILL, FILL) is None


def test_venue_missing_from_a_poll_is_filled_from_a_moment_earlier(db: Database) -> None:
    t1, t2 = T0, T0 + MINUTE_MS
    store(
        db,
        t1,
        [snap("binance", "SOLUSDT", "SOL", t1, 2e9), snap("okx", "SOL-USDT-SWAP", "SOL", t1, 1e9)],
    )
    store(db, t2, [snap("binance", "SOLUSDT", "SOL", t2, 2.2e9)])  # OKX failed this poll
    sol = read_coin_at(db, "SOL", t2, FILL, FILL)
    assert sol is not None
    assert [(s.venue, s.ts_ms, s.oi_usd) for s in sol.venues] == [
        ("binance", t2, 2.2e9),
        ("okx", t1, 1e9),
    ]
    assert sol.oi_usd == 3.2e9
    only_recent = read_coin_at(db, "SOL", t2, FILL, MINUTE_MS // 2)
    assert only_recent is not None and [s.venue for s in only_recent.venues] == ["binance"]
    market = read_market_at(db, t2 + 5_000, FILL, FILL)
    assert set(market) == {"SOL"} and market["SOL"].oi_usd == 3.2e9
    assert read_market_at(db, t1 - 1, FILL, FILL) == {}


def test_write_is_one_transaction(db: Database) -> None:
    good = snap("binance", "BTCUSDT", "BTC", T0, 1e9)
    bad = snap("bybit", "BTCUSDT", "BTC", T0, 1e9, funding_rate=object())
    with pytest.raises(Exception, match="type"):
        write_market(db, T0, [good, bad], [])
    assert poll_times(db) == []
    assert db.execute("SELECT count(*) FROM market_snapshots").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM market_symbols").fetchone()[0] == 0


def test_prune_thins_with_age_and_expires_after_30_days(db: Database) -> None:
    now = T0 + 40 * DAY_MS
    times = [now - 31 * DAY_MS + k * 20 * MINUTE_MS for k in range(3)]  # expired
    old_hour = now - 3 * DAY_MS  # an hour boundary: polls at :00, :10, ... :50 -> 1 kept
    times += [old_hour + k * 10 * MINUTE_MS for k in range(6)]
    mid = now - 10 * HOUR_MS  # 6..48 h old: one per 5 minutes -> :00 and :05 kept
    times += [mid + k * MINUTE_MS for k in range(10)]
    recent = now - 5 * HOUR_MS  # dense, kept as is
    times += [recent + k * MINUTE_MS for k in range(5)]
    for t in times:
        pair = [
            snap("bybit", "BTCUSDT", "BTC", t, 1e9),
            snap("okx", "ETH-USDT-SWAP", "ETH", t, 5e8),
        ]
        store(db, t, pair)
    stats = prune_market(db, now)
    assert (stats.thinned, stats.expired) == (5 + 8, 3)
    kept = [old_hour, mid, mid + 5 * MINUTE_MS] + [recent + k * MINUTE_MS for k in range(5)]
    assert poll_times(db) == kept
    distinct = "SELECT DISTINCT ts_ms FROM {} ORDER BY 1"
    assert [r[0] for r in db.execute(distinct.format("market_snapshots"))] == kept
    assert [r[0] for r in db.execute(distinct.format("market_coins"))] == kept
    assert db.execute("SELECT count(*) FROM market_snapshots").fetchone()[0] == 2 * len(kept)
    again = prune_market(db, now)
    assert (again.thinned, again.expired) == (0, 0)
    # a day later the 5-minute polls are older than 48 h: only the hour's first stays
    later = prune_market(db, now + 2 * DAY_MS)
    assert later.thinned == 1 + 4
    assert poll_times(db)[:2] == [old_hour, mid]
    # the hourly poll still answers "coin at T" with an hour's tolerance
    at = read_coin_at(db, "BTC", old_hour + 50 * MINUTE_MS, HOUR_MS + FILL, FILL)
    assert at is not None and at.ts_ms == old_hour


@pytest.mark.parametrize(
    ("age", "step"),
    [(0, 0), (6 * HOUR_MS, 0), (6 * HOUR_MS + 1, 5 * MINUTE_MS), (48 * HOUR_MS + 1, HOUR_MS)],
)
def test_resolution_at(age: int, step: int) -> None:
    assert resolution_at(age) == step

import math
import sqlite3
from collections import defaultdict
from pathlib import Path

import pytest
from sqlite_utils import Database

from bot.domain import LONG, MINUTE_MS, SHORT, Liquidation
from bot.ingest.aggregate import bucket_deltas
from storage.buckets import prune, read_buckets, write_batch
from storage.db import open_db
from storage.events import count_events, read_events

T0 = 1_791_590_400_000  # a minute boundary (2026-10-10 00:00 UTC)


def liq(venue: str, coin: str, side: str, usd: float, ts_ms: int, symbol: str = "") -> Liquidation:
    return Liquidation(venue, symbol or f"{coin}USDT", coin, side, 1.0, usd, usd, ts_ms)


def expected_buckets(events: list[Liquidation]) -> dict[tuple[int, str, str, str], tuple]:
    """Independent reference: exact sums (math.fsum), counts and the first largest print."""
    groups: dict[tuple[int, str, str, str], list[Liquidation]] = defaultdict(list)
    for e in events:
        groups[(e.ts_ms - e.ts_ms % 60_000, e.venue, e.coin, e.side)].append(e)
    out = {}
    for key, es in groups.items():
        top = max(es, key=lambda e: e.usd)  # max() keeps the first of equal maxima
        out[key] = (math.fsum(e.usd for e in es), len(es), top.usd, top.ts_ms, top.symbol)
    return out


def as_dict(rows: list[tuple]) -> dict[tuple[int, str, str, str], tuple]:
    return {tuple(r[:4]): tuple(r[4:]) for r in rows}


def assert_matches(rows: list[tuple], expected: dict) -> None:
    got = as_dict(rows)
    assert got.keys() == expected.keys()
    for key, (usd, count, max_usd, max_ts, max_symbol) in expected.items():
        g_usd, g_count, g_max, g_ts, g_symbol = got[key]
        assert g_usd == pytest.approx(usd, rel=1e-12), key
        assert (g_count, g_max, g_ts, g_symbol) == (count, max_usd, max_ts, max_symbol), key


@pytest.fixture
def db(tmp_path: Path) -> Database:
    db = open_db(tmp_path / "data" / "liq.db")
    yield db
    db.close()


SAMPLE = [
    liq("binance", "BTC", LONG, 12_500.5, T0 + 1_000),
    liq("binance", "BTC", LONG, 80_000.0, T0 + 59_999, "BTCUSDT"),
    liq("binance", "BTC", LONG, 80_000.0, T0 + 30_000, "BTCUSDC"),  # tie: first one stays
    liq("binance", "BTC", SHORT, 3_000.25, T0 + 2_000),
    liq("bybit", "BTC", LONG, 0.1 + 0.2, T0 + 61_000),
    liq("bybit", "ETH", LONG, 999.99, T0 + 60_000),
    liq("okx", "ETH", SHORT, 1e6, T0 + 5 * MINUTE_MS + 7),
]


def test_batch_round_trip_matches_independent_sums(db: Database) -> None:
    write_batch(db, SAMPLE, bucket_deltas(SAMPLE))

    rows = read_buckets(db, T0, T0 + 10 * MINUTE_MS)
    assert_matches(rows, expected_buckets(SAMPLE))
    assert [r[0] for r in rows] == sorted(r[0] for r in rows)
    assert as_dict(rows)[(T0, "binance", "BTC", LONG)][2:] == (80_000.0, T0 + 59_999, "BTCUSDT")
    assert read_events(db, T0, T0 + 10 * MINUTE_MS) == SAMPLE


def test_read_range_is_half_open_and_filters_coin(db: Database) -> None:
    write_batch(db, SAMPLE, bucket_deltas(SAMPLE))

    assert {r[0] for r in read_buckets(db, T0 + MINUTE_MS, T0 + 5 * MINUTE_MS)} == {T0 + MINUTE_MS}
    eth = read_buckets(db, T0, T0 + 10 * MINUTE_MS, coin="ETH")
    assert_matches(eth, expected_buckets([e for e in SAMPLE if e.coin == "ETH"]))
    assert read_buckets(db, T0, T0 + 10 * MINUTE_MS, coin="DOGE") == []


def test_second_batch_adds_to_buckets(db: Database) -> None:
    first, second = (
        SAMPLE[:4],
        [
            liq("binance", "BTC", LONG, 7.5, T0 + 10),
            liq("binance", "BTC", LONG, 95_000.0, T0 + 40_000, "BTCUSDT_PERP"),
            liq("binance", "BTC", SHORT, 1.0, T0 + 3_000),  # smaller than stored max: max kept
            liq("binance", "BTC", SHORT, 3_000.25, T0 + 4_000),  # equal to stored max: kept too
        ],
    )
    write_batch(db, first, bucket_deltas(first))
    write_batch(db, second, bucket_deltas(second))

    rows = read_buckets(db, T0, T0 + MINUTE_MS)
    assert_matches(rows, expected_buckets(first + second))
    by_key = as_dict(rows)
    assert by_key[(T0, "binance", "BTC", LONG)][1:] == (5, 95_000.0, T0 + 40_000, "BTCUSDT_PERP")
    assert by_key[(T0, "binance", "BTC", SHORT)][1:] == (3, 3_000.25, T0 + 2_000, "BTCUSDT")
    assert count_events(db) == len(first) + len(second)


def test_failed_batch_leaves_nothing_behind(db: Database) -> None:
    deltas = bucket_deltas(SAMPLE)
    # Poison the last statement of the transaction (NOT NULL), after events were inserted.
    next(iter(deltas.values())).max_symbol = None  # type: ignore[assignment]

    with pytest.raises(sqlite3.IntegrityError):
        write_batch(db, SAMPLE, deltas)

    assert count_events(db) == 0
    assert read_buckets(db, 0, 2**62) == []
    write_batch(db, SAMPLE, bucket_deltas(SAMPLE))  # the connection is still usable
    assert count_events(db) == len(SAMPLE)


def test_prune_deletes_old_events_and_buckets_separately(db: Database) -> None:
    write_batch(db, SAMPLE, bucket_deltas(SAMPLE))

    # Events before T0+60s go (4 of them); buckets before minute 5 go (all but okx).
    assert prune(db, T0 + 60_000, T0 + 5 * MINUTE_MS) == (4, 4)

    assert read_events(db, 0, 2**62) == [e for e in SAMPLE if e.ts_ms >= T0 + 60_000]
    assert_matches(read_buckets(db, 0, 2**62), expected_buckets(SAMPLE[-1:]))
    assert prune(db, T0 + 60_000, T0 + 5 * MINUTE_MS) == (0, 0)


def test_reopen_after_close_loses_nothing(tmp_path: Path) -> None:
    path = tmp_path / "liq.db"
    db = open_db(path)
    write_batch(db, SAMPLE, bucket_deltas(SAMPLE))
    before = read_buckets(db, 0, 2**62)
    db.close()

    again = open_db(path)
    try:
        assert read_buckets(again, 0, 2**62) == before
        assert read_events(again, 0, 2**62) == SAMPLE
    finally:
        again.close()


def test_sum_buckets_equals_the_sum_of_the_minute_rows(tmp_path: Path) -> None:
    import math
    import random

    from storage.buckets import read_buckets, sum_buckets

    rng = random.Random(7)
    db = open_db(tmp_path / "sum.db")
    t0 = 1_791_590_400_000
    events = [
        Liquidation(
            rng.choice(["binance", "bybit"]),
            "XUSDT",
            rng.choice(["BTC", "ETH", "SOL"]),
            rng.choice(["long", "short"]),
            1.0,
            1.0,
            round(rng.uniform(10, 1e6), 2),
            t0 + rng.randrange(0, 3 * 3_600_000),
        )
        for _ in range(2000)
    ]
    write_batch(db, events, bucket_deltas(events))
    start, end = t0 + 600_000, t0 + 2 * 3_600_000
    minute_rows = read_buckets(db, start, end)
    summed = sum_buckets(db, start, end)
    inside = [e for e in events if start <= e.ts_ms < end]
    for row in summed:
        mine = [e for e in inside if (e.venue, e.coin, e.side) == row[1:4]]
        assert row[4] == pytest.approx(math.fsum(e.usd for e in mine))
        assert row[5] == len(mine)
        biggest = max(mine, key=lambda e: e.usd)
        assert (row[6], row[7]) == (biggest.usd, biggest.ts_ms)
        assert row[0] == biggest.ts_ms // 60_000 * 60_000  # stamped at the largest's minute
    assert sum(r[5] for r in summed) == sum(r[5] for r in minute_rows) == len(inside)
    assert len(summed) == len({r[1:4] for r in minute_rows}) < len(minute_rows)
    only_btc = sum_buckets(db, start, end, "BTC")
    assert {r[2] for r in only_btc} == {"BTC"}

"""TotalsIndex and the Totals answer, checked against sums computed independently here."""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.domain import (
    HOUR_MS,
    LONG,
    MINUTE_MS,
    SHORT,
    WINDOWS,
    BucketDelta,
    BucketRow,
    Liquidation,
)
from bot.ingest.aggregate import bucket_deltas
from bot.totals.query import (
    Totals,
    TotalsIndex,
    totals_from_db,
)
from storage.buckets import write_batch
from storage.db import open_db
from storage.uptime import extend_intervals, open_interval

T0 = 1_767_225_600_000  # 2026-01-01T00:00Z, on an hour boundary
CENT = Decimal("0.005")
COINS = ("BTC", "ETH", "SOL", "DOGE")
VENUES = ("binance", "bybit", "okx")


def liq(
    ts: int, usd: float, venue: str = "bybit", coin: str = "BTC", side: str = LONG
) -> Liquidation:
    return Liquidation(venue, coin + "USDT", coin, side, 1.0, usd, usd, ts)


def random_events(rng: random.Random, n: int, span_ms: int) -> list[Liquidation]:
    """Events with USD in whole cents, so the expected sums are exact decimals."""
    return [
        liq(
            T0 + rng.randrange(span_ms),
            rng.randrange(1, 50_000_000) / 100,
            rng.choice(VENUES),
            rng.choice(COINS),
            rng.choice((LONG, SHORT)),
        )
        for _ in range(n)
    ]


def usd_sum(events: Iterable[Liquidation]) -> Decimal:
    return sum((Decimal(repr(e.usd)) for e in events), Decimal(0))


def close(value: float, expected: Decimal) -> bool:
    return abs(Decimal(repr(value)) - expected) < CENT


def in_window(events: Iterable[Liquidation], start: int, end: int) -> list[Liquidation]:
    return [e for e in events if start <= e.ts_ms < end]


def feed(index: TotalsIndex, events: Sequence[Liquidation], batch: int) -> None:
    for i in range(0, len(events), batch):
        index.apply(bucket_deltas(events[i : i + batch]))


def check(t: Totals, events: Sequence[Liquidation], coin: str | None = None) -> None:
    """Every figure of ``t`` against sums of ``events`` (already restricted to the window and
    to ``coin`` when the query named one)."""
    longs = [e for e in events if e.side == LONG]
    shorts = [e for e in events if e.side == SHORT]
    assert close(t.total_usd, usd_sum(events))
    assert close(t.long_usd, usd_sum(longs))
    assert close(t.short_usd, usd_sum(shorts))
    assert (t.count, t.long_count, t.short_count) == (len(events), len(longs), len(shorts))
    for venue, got in t.by_exchange.items():
        mine = [e for e in events if e.venue == venue]
        assert close(got.total_usd, usd_sum(mine))
        assert close(got.long_usd, usd_sum(e for e in mine if e.side == LONG))
        assert got.count == len(mine)
    assert set(t.by_coin) == ({e.coin for e in events} if coin is None else {coin})
    for name, per_coin in t.by_coin.items():
        mine = [e for e in events if e.coin == name]
        assert close(per_coin.short_usd, usd_sum(e for e in mine if e.side == SHORT))
        assert (per_coin.long_count, per_coin.short_count) == (
            sum(e.side == LONG for e in mine),
            sum(e.side == SHORT for e in mine),
        )
    if not events:
        assert t.largest is None
    else:
        top = max(e.usd for e in events)
        assert t.largest is not None
        assert t.largest.usd == top
        matches = {(e.venue, e.coin, e.side, e.ts_ms, e.symbol) for e in events if e.usd == top}
        lg = t.largest
        assert (lg.exchange, lg.coin, lg.side, lg.ts_ms, lg.symbol) in matches


def test_totals_match_independent_sums_for_every_standard_window() -> None:
    rng = random.Random(7)
    events = random_events(rng, 4000, 9 * 24 * HOUR_MS)
    index = TotalsIndex()
    feed(index, events, 97)
    for name, ms in WINDOWS.items():
        for _ in range(4):
            at = T0 + rng.randrange(9 * 24 * HOUR_MS)
            t = index.query(ms, at)
            assert t.window == name
            check(t, in_window(events, t.start_ms, t.end_ms))


def test_load_from_rows_equals_apply() -> None:
    rng = random.Random(3)
    events = random_events(rng, 3000, 30 * HOUR_MS)
    deltas = bucket_deltas(events)
    rows: list[BucketRow] = sorted(
        (k[0], k[1], k[2], k[3], d.usd, d.count, d.max_usd, d.max_ts, d.max_symbol)
        for k, d in deltas.items()
    )
    index = TotalsIndex()
    assert index.load(iter(rows)) == len(rows)
    t = index.query(24 * HOUR_MS, T0 + 27 * HOUR_MS + 5)
    check(t, in_window(events, t.start_ms, t.end_ms))


def test_window_edges_start_included_end_excluded() -> None:
    end = T0 + 5 * HOUR_MS
    start = end - HOUR_MS
    index = TotalsIndex()
    index.apply(
        bucket_deltas(
            [
                liq(start - 1, 1.0),  # just before the window
                liq(start, 10.0),  # first instant: in
                liq(end - 1, 100.0),  # last instant: in
                liq(end, 1000.0),  # the end itself: out
            ]
        )
    )
    t = index.query(HOUR_MS, end)
    assert (t.start_ms, t.end_ms) == (start, end)
    assert t.total_usd == 110.0
    assert t.count == 2


def test_coin_filter_counts_only_that_coins_series() -> None:
    rng = random.Random(11)
    events = random_events(rng, 2000, 30 * HOUR_MS)
    index = TotalsIndex()
    feed(index, events, 50)
    at = T0 + 26 * HOUR_MS + 123_456
    t = index.query(24 * HOUR_MS, at, "eth")
    eth = [e for e in in_window(events, t.start_ms, t.end_ms) if e.coin == "ETH"]
    check(t, eth, "ETH")
    assert list(t.by_coin) == ["ETH"]
    # An unknown coin gives zeros and still exactly one by_coin entry.
    none = index.query(24 * HOUR_MS, at, "PEPE")
    assert (none.total_usd, none.count, none.largest) == (0.0, 0, None)
    assert list(none.by_coin) == ["PEPE"]
    assert none.by_coin["PEPE"].count == 0


def test_largest_is_the_biggest_single_liquidation_in_the_window() -> None:
    index = TotalsIndex()
    events = [
        liq(T0 + 10 * MINUTE_MS + 5, 900.0, "okx", "ETH", SHORT),
        liq(T0 + 10 * MINUTE_MS + 9, 400.0, "okx", "ETH", SHORT),  # same bucket, smaller
        liq(T0 + 2 * HOUR_MS + 7, 5000.0, "binance", "BTC", LONG),  # outside the window below
        liq(T0 + 30 * MINUTE_MS, 700.0, "bybit", "SOL", LONG),
    ]
    index.apply(bucket_deltas(events))
    t = index.query(HOUR_MS, T0 + HOUR_MS)
    assert t.largest is not None
    assert t.largest.to_json() == {
        "exchange": "okx",
        "coin": "ETH",
        "side": SHORT,
        "usd": 900.0,
        "ts_ms": T0 + 10 * MINUTE_MS + 5,
    }
    assert t.largest.symbol == "ETHUSDT"
    sol = index.query(HOUR_MS, T0 + HOUR_MS, "SOL")
    assert sol.largest is not None and sol.largest.usd == 700.0
    # Across whole hours the largest comes from the hour grid, with its time and symbol.
    day = index.query(24 * HOUR_MS, T0 + 20 * HOUR_MS)
    assert day.largest is not None
    assert (day.largest.exchange, day.largest.ts_ms, day.largest.symbol) == (
        "binance",
        T0 + 2 * HOUR_MS + 7,
        "BTCUSDT",
    )


def test_late_deltas_for_old_minutes_are_counted() -> None:
    rng = random.Random(5)
    events = random_events(rng, 3000, 10 * HOUR_MS)
    events.sort(key=lambda e: e.ts_ms)
    # Most arrive in time order; every 10th is held back and delivered at the very end.
    late = events[::10]
    on_time = [e for i, e in enumerate(events) if i % 10]
    index = TotalsIndex()
    feed(index, on_time, 40)
    feed(index, late, 7)
    for at in (T0 + 10 * HOUR_MS, T0 + 6 * HOUR_MS + 17 * MINUTE_MS + 1, T0 + 95 * MINUTE_MS):
        for window in (HOUR_MS, 4 * HOUR_MS, 24 * HOUR_MS, 45 * MINUTE_MS):
            t = index.query(window, at)
            check(t, in_window(events, t.start_ms, t.end_ms))


def test_applying_the_same_deltas_twice_adds_twice() -> None:
    events = [liq(T0 + 5, 10.25), liq(T0 + 7, 20.5, side=SHORT), liq(T0 + HOUR_MS + 3, 1.0)]
    index = TotalsIndex()
    deltas = bucket_deltas(events)
    index.apply(deltas)
    index.apply(deltas)
    t = index.query(2 * HOUR_MS, T0 + 2 * HOUR_MS)
    assert t.total_usd == 2 * (10.25 + 20.5 + 1.0)
    assert (t.long_count, t.short_count) == (4, 2)
    assert t.largest is not None and t.largest.usd == 20.5


def test_repeated_flushes_of_the_same_buckets_are_merged_exactly() -> None:
    # Thousands of small applies to a few keys force compactions of the live hour.
    rng = random.Random(9)
    index = TotalsIndex()
    events: list[Liquidation] = []
    for flush in range(600):
        batch = [
            liq(
                T0 + flush * 500 + rng.randrange(500),
                rng.randrange(1, 10**6) / 100,
                rng.choice(VENUES),
                rng.choice(COINS),
                rng.choice((LONG, SHORT)),
            )
            for _ in range(12)
        ]
        events.extend(batch)
        index.apply(bucket_deltas(batch))
    for window, at in ((HOUR_MS, T0 + HOUR_MS), (2 * MINUTE_MS, T0 + 3 * MINUTE_MS + 1)):
        t = index.query(window, at)
        check(t, in_window(events, t.start_ms, t.end_ms))


def test_drop_before_frees_old_hours_and_ignores_their_late_deltas() -> None:
    rng = random.Random(2)
    events = random_events(rng, 3000, 48 * HOUR_MS)
    index = TotalsIndex()
    feed(index, events, 100)
    before = index.nbytes()
    cut = T0 + 20 * HOUR_MS + 30 * MINUTE_MS
    index.drop_before(cut)
    assert index.nbytes() < before
    # The hour containing the cut is kept whole; everything from it on is intact.
    kept_from = T0 + 20 * HOUR_MS
    kept = [e for e in events if e.ts_ms >= kept_from]
    t = index.query(28 * HOUR_MS, T0 + 48 * HOUR_MS)
    check(t, kept)
    # Late data for a dropped hour is ignored (and counted), later data still adds.
    index.apply(bucket_deltas([liq(T0 + HOUR_MS, 1e6), liq(T0 + 47 * HOUR_MS, 2.0)]))
    assert index.ignored == 1
    t2 = index.query(28 * HOUR_MS, T0 + 48 * HOUR_MS)
    assert close(t2.total_usd, usd_sum(kept) + 2)
    assert t2.count == len(kept) + 1


def test_totals_from_db_reads_only_the_window_and_reports_coverage(tmp_path: Path) -> None:
    rng = random.Random(4)
    events = random_events(rng, 1500, 30 * HOUR_MS)
    db = open_db(tmp_path / "liq.db")
    for i in range(0, len(events), 200):
        write_batch(db, events[i : i + 200], bucket_deltas(events[i : i + 200]))
    now = T0 + 29 * HOUR_MS + 10_000
    up = open_interval(db, "bybit", T0)
    extend_intervals(db, [up], now - 20_000)
    t = totals_from_db(db, 24 * HOUR_MS, None, None, ["binance", "bybit"], now)
    window = [e for e in in_window(events, t.start_ms, t.end_ms) if e.venue != "okx"]
    check(t, window)
    assert list(t.by_exchange) == ["binance", "bybit"]
    assert t.coverage["bybit"].live and t.coverage["bybit"].complete
    assert t.coverage["binance"].gaps == ((t.start_ms, now),)
    btc = totals_from_db(db, 4 * HOUR_MS, now - HOUR_MS, "btc", list(VENUES), now)
    check(btc, [e for e in in_window(events, btc.start_ms, btc.end_ms) if e.coin == "BTC"], "BTC")
    assert btc.to_json()["coverage"]["okx"]["live"] is False
    db.close()


bucket = st.tuples(
    st.integers(0, 6 * 60 - 1),  # minute index over six hours
    st.sampled_from(VENUES),
    st.sampled_from(COINS[:3]),
    st.sampled_from((LONG, SHORT)),
    st.integers(1, 10**9),  # cents
    st.integers(0, 59_999),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(bucket, max_size=80),
    st.lists(
        st.tuples(st.integers(1, 7 * 60), st.integers(-60, 7 * 60 * 60)), min_size=1, max_size=6
    ),
    st.sampled_from([None, "BTC", "ETH"]),
    st.integers(1, 9),
)
def test_index_equals_brute_force(
    items: list[tuple[int, str, str, str, int, int]],
    windows: list[tuple[int, int]],
    coin: str | None,
    batch: int,
) -> None:
    events = [
        liq(T0 + m * MINUTE_MS + off, cents / 100, venue, c, side)
        for m, venue, c, side, cents, off in items
    ]
    index = TotalsIndex()
    # Half through load(), half through apply() in batches, to cross both paths.
    half = len(events) // 2
    stored = bucket_deltas(events[:half])
    index.load(
        sorted(
            (k[0], k[1], k[2], k[3], d.usd, d.count, d.max_usd, d.max_ts, d.max_symbol)
            for k, d in stored.items()
        )
    )
    feed(index, events[half:], batch)
    for minutes, at_s in windows:
        t = index.query(minutes * MINUTE_MS, T0 + at_s * 1000, coin)
        mine = [e for e in in_window(events, t.start_ms, t.end_ms) if coin in (None, e.coin)]
        check(t, mine, coin)


def test_bucket_delta_fields_used_by_apply() -> None:
    # The index reads deltas exactly as storage defines them.
    index = TotalsIndex()
    index.apply({(T0, "okx", "BTC", SHORT): BucketDelta(12.5, 3, 9.0, T0 + 42, "BTC-USDT-SWAP")})
    t = index.query(MINUTE_MS, T0 + 1)
    assert (t.short_usd, t.short_count) == (12.5, 3)
    assert t.largest is not None and (t.largest.ts_ms, t.largest.symbol) == (
        T0 + 42,
        "BTC-USDT-SWAP",
    )


def test_a_max_ts_outside_its_minute_is_kept_inside_the_bucket() -> None:
    index = TotalsIndex()
    index.apply({(T0 + HOUR_MS, "okx", "BTC", LONG): BucketDelta(5.0, 1, 5.0, 0, "BTC-USDT-SWAP")})
    t = index.query(HOUR_MS, T0 + 2 * HOUR_MS)
    assert t.largest is not None and t.largest.ts_ms == T0 + HOUR_MS

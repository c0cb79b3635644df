"""TotalsService: the one totals query, checked against sums computed independently here."""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain import HOUR_MS, LONG, MINUTE_MS, SHORT, WINDOWS, Liquidation
from bot.ingest.aggregate import bucket_deltas
from bot.totals.coverage import VenueCoverage
from bot.totals.index import TotalsIndex
from bot.totals.service import TotalsService, live_coverage

T0 = 1_767_225_600_000  # 2026-01-01T00:00Z
VENUES = ("binance", "bybit", "okx")


def liq(ts: int, usd: float, venue: str, coin: str, side: str) -> Liquidation:
    return Liquidation(venue, coin + "USDT", coin, side, 1.0, usd, usd, ts)


def cents(values: list[float]) -> list[Decimal]:
    return [Decimal(repr(v)).quantize(Decimal("0.01")) for v in values]


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(0, 300),
    window=st.sampled_from(["5m", "15m", "1h", "4h"]),
    offset_min=st.integers(0, 300),
    coin=st.sampled_from([None, "BTC", "ETH", "NOPE"]),
    venues=st.sampled_from([VENUES, ("bybit",), ()]),
)
def test_minute_series_equals_the_per_minute_sums_of_the_events(
    seed: int,
    n: int,
    window: str,
    offset_min: int,
    coin: str | None,
    venues: tuple[str, ...],
) -> None:
    rng = random.Random(seed)
    events = [
        liq(
            T0 + rng.randrange(6 * HOUR_MS),
            rng.choice([0.0, 0.001, 1.0, rng.randrange(1, 10**9) / 100, 1e12]),
            rng.choice(VENUES),
            rng.choice(["BTC", "ETH"]),
            rng.choice([LONG, SHORT]),
        )
        for _ in range(n)
    ]
    index = TotalsIndex()
    for i in range(0, len(events), 37):
        index.apply(bucket_deltas(events[i : i + 37]))
    end = T0 + offset_min * MINUTE_MS + rng.randrange(MINUTE_MS)
    service = TotalsService(index, venues, now_ms=lambda: end)
    series = index.minute_series(WINDOWS[window], end, coin, venues)
    totals = service.totals(WINDOWS[window], coin)
    assert series.start_ms == totals.start_ms
    assert series.minutes == WINDOWS[window] // MINUTE_MS
    want = {LONG: [Decimal(0)] * series.minutes, SHORT: [Decimal(0)] * series.minutes}
    for e in events:
        inside = totals.start_ms <= e.ts_ms < totals.end_ms and e.venue in venues
        if inside and (coin is None or e.coin == coin):
            want[e.side][(e.ts_ms - totals.start_ms) // MINUTE_MS] += Decimal(repr(e.usd))
    assert cents(list(series.long_usd)) == [w.quantize(Decimal("0.01")) for w in want[LONG]]
    assert cents(list(series.short_usd)) == [w.quantize(Decimal("0.01")) for w in want[SHORT]]
    # The series and the totals tell the same window.
    assert abs(sum(series.total_usd()) - totals.total_usd) <= 1e-6 * max(1.0, totals.total_usd)


@dataclass
class Feed:
    down_since: int | None = None
    dropped_topics: set[str] = field(default_factory=set)

    def outage_ms(self, now_ms: int) -> int | None:
        return None if self.down_since is None else now_ms - self.down_since


async def test_query_attaches_stored_coverage_with_the_live_feed_facts() -> None:
    index = TotalsIndex()
    index.apply(bucket_deltas([liq(T0 + 5 * MINUTE_MS, 1000.0, "bybit", "BTC", LONG)]))
    now = T0 + HOUR_MS
    asked: list[tuple[int, int, int]] = []

    async def stored(start: int, end: int, at: int) -> Mapping[str, VenueCoverage]:
        asked.append((start, end, at))
        return {v: VenueCoverage(v, live=True, complete=True, gaps=(), down_ms=0) for v in VENUES}

    health = {"bybit": Feed(down_since=now - 90_000, dropped_topics={"a", "b"})}
    service = TotalsService(
        index, VENUES, coverage=live_coverage(stored, health, lambda: now), now_ms=lambda: now
    )
    report = await service.query(WINDOWS["1h"], with_series=True)
    assert asked == [(T0, T0 + HOUR_MS, now)]
    assert report.totals.total_usd == 1000.0
    assert report.coverage["bybit"].outage_ms == 90_000
    assert report.coverage["bybit"].dropped_topics == 2
    assert report.coverage["okx"].outage_ms is None and report.coverage["okx"].dropped_topics == 0
    assert report.market is None  # no market polled
    assert report.series is not None and report.series.long_usd[5] == 1000.0
    bare = await service.query(WINDOWS["1h"], with_coverage=False)
    assert bare.coverage == {} and bare.series is None and len(asked) == 1


async def test_a_failing_lookup_propagates_unless_lenient() -> None:
    def broken(window_ms: int, end_ms: int) -> Mapping[str, VenueCoverage]:
        raise OSError("disk gone")

    service = TotalsService(TotalsIndex(), VENUES, coverage=broken, now_ms=lambda: T0)
    with pytest.raises(OSError):
        await service.query(WINDOWS["1h"])
    report = await service.query(WINDOWS["1h"], lenient=True)
    assert report.coverage == {} and report.totals.count == 0


def test_a_coin_is_known_when_listed_or_liquidated_in_the_last_7_days() -> None:
    index = TotalsIndex()
    index.apply(bucket_deltas([liq(T0, 5.0, "okx", "PEPE", SHORT)]))
    service = TotalsService(index, VENUES, known_coins=lambda: {"DOGE"}, now_ms=lambda: T0 + 1)
    assert service.coin_known("DOGE") and service.coin_known("PEPE")
    assert not service.coin_known("PEPE", T0 + WINDOWS["7d"] + MINUTE_MS)
    assert not service.coin_known("XYZ")

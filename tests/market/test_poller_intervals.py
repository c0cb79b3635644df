"""Funding intervals that follow the venue: a change shows by the next poll (fake REST).

Binance runs on ``BinanceSchedule``: symbols settle on the clock, a settlement at the cap
moves a symbol to 1 h, and ``fundingInfo`` lists it late or never, as on the real venue.
"""

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from bot.domain import HOUR_MS, MINUTE_MS, MarketSnapshot
from storage.market import read_market_at
from tests.fakes.market import (
    BinanceSchedule,
    bybit_body,
    bybit_instrument,
    bybit_ticker,
    okx_body,
    okx_funding,
)
from tests.market.test_poller import T0, Rig

SETTLE = T0 + 8 * HOUR_MS  # an 8 h settlement (00/08/16 UTC)
PATHS = ("/fapi/v1/premiumIndex", "/fapi/v1/fundingInfo")


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    r = Rig(tmp_path)
    for fake in (r.binance, r.bybit, r.okx):
        await fake.start()
    async with aiohttp.ClientSession() as session:
        r.session = session
        yield r
    for fake in (r.binance, r.bybit, r.okx):
        await fake.stop()
    await r.dbt.close()


def scheduled(rig: Rig) -> BinanceSchedule:
    schedule = BinanceSchedule(rig.clock)
    rig.binance.bodies[PATHS[0]] = schedule.premium_index
    rig.binance.bodies[PATHS[1]] = schedule.funding_info
    return schedule


def venue_snap(rig: Rig, venue: str, coin: str) -> MarketSnapshot:
    (snap,) = [s for s in rig.state.snapshots(coin) if s.venue == venue]
    return snap


async def stored_interval(rig: Rig, venue: str, coin: str) -> float | None:
    market = await rig.dbt.run(read_market_at, rig.clock.now, 1, 1)
    (snap,) = [s for s in market[coin].venues if s.venue == venue]
    return snap.funding_interval_h


@pytest.mark.parametrize("list_lag_ms", [None, 0, 30 * MINUTE_MS])
async def test_binance_switch_to_1h_at_the_capped_settlement_shows_by_the_next_poll(
    rig: Rig, list_lag_ms: int | None
) -> None:
    rig.clock.now = SETTLE - 2 * MINUTE_MS
    schedule = scheduled(rig)
    schedule.add("MYXUSDT", "1.5", "0.02000000", cap="0.02000000", list_lag_ms=list_lag_ms)
    schedule.add("BTCUSDT", "100000.0", "0.00010000", cap="0.00300000")
    poller = rig.poller()
    for now in (SETTLE - 2 * MINUTE_MS, SETTLE - MINUTE_MS):
        rig.clock.now = now
        await poller.poll_once()
        myx = venue_snap(rig, "binance", "MYX")
        assert myx.funding_interval_h == 8.0 and myx.rate_8h == pytest.approx(0.02)
    rig.clock.now = SETTLE + 20_000  # the first poll after the settlement at the cap
    await poller.poll_once()
    myx = venue_snap(rig, "binance", "MYX")
    assert myx.next_funding_ms == SETTLE + HOUR_MS
    assert myx.funding_interval_h == 1.0
    assert myx.rate_8h == pytest.approx(0.16) and myx.apr == pytest.approx(0.02 * 24 * 365)
    assert await stored_interval(rig, "binance", "MYX") == 1.0
    assert venue_snap(rig, "binance", "BTC").funding_interval_h == 8.0
    for minute in range(1, 70):  # an hour more: the next hourly settlement too
        rig.clock.now = SETTLE + 20_000 + minute * MINUTE_MS
        await poller.poll_once()
        assert venue_snap(rig, "binance", "MYX").funding_interval_h == 1.0
        assert venue_snap(rig, "binance", "BTC").funding_interval_h == 8.0
    # Cost: premiumIndex once a poll; fundingInfo at start, once re-read 5 minutes after
    # the capped settlement (not every poll, even when it never lists the symbol), hourly.
    assert rig.binance.count(PATHS[0]) == 72
    assert rig.binance.count(PATHS[1]) == 3


async def test_binance_interval_change_at_a_settlement_beats_stale_funding_info(
    rig: Rig,
) -> None:
    rig.clock.now = SETTLE - MINUTE_MS
    schedule = scheduled(rig)
    schedule.add("LPTUSDT", "6.25", "0.00010000", interval_h=1, listed=True)
    poller = rig.poller()
    await poller.poll_once()
    assert venue_snap(rig, "binance", "LPT").funding_interval_h == 1.0
    schedule.change_at_next("LPTUSDT", 4)  # 16 quiet hourly settlements: back to 4 h
    rig.clock.now = SETTLE + 30_000
    await poller.poll_once()  # fundingInfo read a minute ago says 1 h: the step says 4 h
    lpt = venue_snap(rig, "binance", "LPT")
    assert lpt.funding_interval_h == 4.0 and lpt.rate_8h == pytest.approx(0.0002)
    assert rig.binance.count(PATHS[1]) == 1
    rig.clock.now = SETTLE + 6 * MINUTE_MS
    await poller.poll_once()  # re-read: fundingInfo now agrees, nothing more to re-read
    rig.clock.now = SETTLE + 12 * MINUTE_MS
    await poller.poll_once()
    assert rig.binance.count(PATHS[1]) == 2
    assert venue_snap(rig, "binance", "LPT").funding_interval_h == 4.0


async def test_a_gap_in_the_polls_never_invents_a_step(rig: Rig) -> None:
    rig.clock.now = SETTLE - MINUTE_MS
    schedule = scheduled(rig)
    schedule.add("MYXUSDT", "1.5", "0.02000000", list_lag_ms=None)
    poller = rig.poller()
    await poller.poll_once()
    # Two hourly settlements pass unseen (SETTLE and SETTLE + 1 h): the move of the next
    # funding time spans two intervals, so it says nothing; the reference data decides.
    rig.clock.now = SETTLE + HOUR_MS + MINUTE_MS
    await poller.poll_once()
    assert venue_snap(rig, "binance", "MYX").funding_interval_h == 8.0
    rig.clock.now = SETTLE + 2 * HOUR_MS - MINUTE_MS
    await poller.poll_once()
    assert venue_snap(rig, "binance", "MYX").funding_interval_h == 8.0
    rig.clock.now = SETTLE + 2 * HOUR_MS + MINUTE_MS  # the next settlement, seen: 1 h
    await poller.poll_once()
    assert venue_snap(rig, "binance", "MYX").funding_interval_h == 1.0


def bybit_tickers(next_ms: int, field: str | None) -> dict[str, object]:
    return bybit_body(
        [bybit_ticker("MYXUSDT", "1.5", "-0.002", next_ms, "1000000", "1500000", field)]
    )


@pytest.mark.parametrize("field", [None, "8"])
async def test_bybit_interval_change_shows_by_the_next_poll(rig: Rig, field: str | None) -> None:
    rig.bybit.bodies["/v5/market/instruments-info"] = bybit_body(
        [bybit_instrument("MYXUSDT", 480)]
    )
    rig.bybit.bodies["/v5/market/tickers"] = bybit_tickers(SETTLE, field)
    poller = rig.poller()
    rig.clock.now = SETTLE - MINUTE_MS
    await poller.poll_once()
    assert venue_snap(rig, "bybit", "MYX").funding_interval_h == 8.0
    # Settled at the cap: 1 h from now on. instruments-info (read hourly) still says 8 h.
    rig.bybit.bodies["/v5/market/tickers"] = bybit_tickers(
        SETTLE + HOUR_MS, None if field is None else "1"
    )
    rig.clock.now = SETTLE + 30_000
    await poller.poll_once()
    myx = venue_snap(rig, "bybit", "MYX")
    assert myx.funding_interval_h == 1.0 and myx.rate_8h == pytest.approx(-0.016)


async def test_okx_interval_change_shows_by_the_next_poll(rig: Rig) -> None:
    poller = rig.poller()
    await poller.poll_once()
    assert venue_snap(rig, "okx", "BTC").funding_interval_h == 8.0
    rig.okx.bodies["/api/v5/public/funding-rate"] = okx_body(
        [okx_funding("BTC-USDT-SWAP", "0.003", SETTLE, SETTLE + HOUR_MS, "0.00375")]
    )
    rig.clock.now = T0 + MINUTE_MS
    await poller.poll_once()
    btc = venue_snap(rig, "okx", "BTC")
    assert btc.funding_interval_h == 1.0 and btc.rate_8h == pytest.approx(0.024)

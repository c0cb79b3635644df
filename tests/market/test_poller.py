"""MarketPoller against fake Binance, Bybit and OKX REST servers on 127.0.0.1."""

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bench.fakes.clock import Clock
from bot.config import Settings
from bot.domain import HOUR_MS
from bot.market.poller import MarketPoller
from bot.market.state import MarketState
from storage.db import DbThread
from storage.market import poll_times, read_market_at
from tests.fakes.market import (
    FakeMarketRest,
    binance_funding_info,
    binance_open_interest,
    binance_premium,
    bybit_body,
    bybit_instrument,
    bybit_ticker,
    okx_body,
    okx_funding,
    okx_mark,
    okx_open_interest,
)

T0 = 1_791_590_400_000
NEXT = T0 + 4 * HOUR_MS

BINANCE_OI = {
    "BTCUSDT": "80000.5",
    "BTCUSDC": "1000",
    "1000PEPEUSDT": "5000000000",
    "ETHUSDT": "1",
}


def binance_fake() -> FakeMarketRest:
    return FakeMarketRest(
        {
            "/fapi/v1/premiumIndex": [
                binance_premium("BTCUSDT", "100000.0", "0.00010000", NEXT),
                binance_premium("BTCUSDC", "100010.0", "0.00020000", NEXT),
                binance_premium("1000PEPEUSDT", "0.0120", "0.00050000", NEXT),
                binance_premium("ETHUSDT", "4000.0", "-0.00010000", NEXT),
                binance_premium("BTCUSDT_261225", "101000.0", "", 0),
            ],
            "/fapi/v1/fundingInfo": [binance_funding_info("1000PEPEUSDT", 4)],
            "/fapi/v1/openInterest": binance_open_interest(BINANCE_OI),
        }
    )


def bybit_fake() -> FakeMarketRest:
    return FakeMarketRest(
        {
            "/v5/market/tickers": bybit_body(
                [
                    bybit_ticker(
                        "BTCUSDT", "99990.0", "0.00005", NEXT, "50000", "4999500000", "8"
                    ),
                    bybit_ticker("MYXUSDT", "1.5", "-0.002", NEXT, "1000000", "1500000"),
                ]
            ),
            "/v5/market/instruments-info": bybit_body(
                [bybit_instrument("BTCUSDT", 480), bybit_instrument("MYXUSDT", 60)]
            ),
        }
    )


def okx_fake() -> FakeMarketRest:
    return FakeMarketRest(
        {
            "/api/v5/public/funding-rate": okx_body(
                [okx_funding("BTC-USDT-SWAP", "0.00012", NEXT, NEXT + 8 * HOUR_MS, "0.0001")]
            ),
            "/api/v5/public/open-interest": okx_body(
                [okx_open_interest("BTC-USDT-SWAP", "3000000", "30000", "3000300000")]
            ),
            "/api/v5/public/mark-price": okx_body([okx_mark("BTC-USDT-SWAP", "100010.0")]),
        }
    )


class Rig:
    def __init__(self, tmp: Path) -> None:
        self.binance, self.bybit, self.okx = binance_fake(), bybit_fake(), okx_fake()
        self.clock = Clock(T0)
        self.dbt = DbThread(tmp / "poller.db")
        self.focus: list[str] = ["BTC", "PEPE"]

    def poller(self, **kw: Any) -> MarketPoller:
        settings = replace(
            Settings(),
            rest_urls={
                "binance": self.binance.url,
                "bybit": self.bybit.url,
                "okx": self.okx.url + "/",
            },
            funding_poll_s=60.0,
        )
        self.state = MarketState(self.dbt, settings.funding_poll_s, clock=self.clock)
        kw.setdefault("request_timeout_s", 2.0)
        return MarketPoller(
            settings.market_config(), self.session, self.state, self.dbt,
            focus_coins=lambda: self.focus, clock=self.clock, **kw,
        )  # fmt: skip

    async def stored(self) -> dict[str, Any]:
        return await self.dbt.run(read_market_at, self.clock.now, 1, 1)


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


async def test_one_cycle_stores_every_venue(rig: Rig) -> None:
    poller = rig.poller()
    stats = await poller.poll_once()
    assert stats.snapshots == {"binance": 4, "bybit": 2, "okx": 1}
    assert stats.failed == [] and stats.stored and stats.oi_requests == 3
    # Binance open interest only for the focus coins' symbols, never for ETH.
    oi_asked = sorted(r for r in rig.binance.requests if r.startswith("/fapi/v1/openInterest"))
    assert oi_asked == [
        f"/fapi/v1/openInterest?symbol={s}" for s in ("1000PEPEUSDT", "BTCUSDC", "BTCUSDT")
    ]
    stored = await rig.stored()
    btc = stored["BTC"]
    by = {(s.venue, s.symbol): s for s in btc.venues}
    b = by[("binance", "BTCUSDT")]
    assert b.oi_base == 80000.5 and b.oi_usd == pytest.approx(80000.5 * 100000.0, rel=1e-15)
    assert b.funding_interval_h == 8.0
    assert by[("bybit", "BTCUSDT")].oi_usd == 4999500000.0
    o = by[("okx", "BTC-USDT-SWAP")]
    assert o.predicted and o.settled_rate == 0.0001 and o.mark_price == 100010.0
    assert o.next_funding_ms == NEXT and o.funding_interval_h == 8.0
    weights = {
        ("binance", "BTCUSDT"): (0.0001, 80000.5 * 100000.0),
        ("binance", "BTCUSDC"): (0.0002, 1000 * 100010.0),
        ("bybit", "BTCUSDT"): (0.00005, 4999500000.0),
        ("okx", "BTC-USDT-SWAP"): (0.00012, 3000300000.0),
    }
    total = sum(w for _, w in weights.values())
    assert btc.oi_usd == pytest.approx(total, rel=1e-12)
    assert btc.funding_8h == pytest.approx(
        sum(r * w for r, w in weights.values()) / total, rel=1e-12
    )
    pepe = stored["PEPE"].venues[0]
    assert pepe.funding_interval_h == 4.0 and pepe.rate_8h == pytest.approx(0.001)
    assert pepe.oi_usd == pytest.approx(5e9 * 0.012, rel=1e-12)
    eth = stored["ETH"].venues[0]
    assert eth.oi_usd is None and stored["ETH"].funding_8h is None
    myx = stored["MYX"].venues[0]  # no fundingIntervalHour: instruments-info (minutes)
    assert myx.funding_interval_h == 1.0 and myx.rate_8h == pytest.approx(-0.016)
    assert rig.state.coin("BTC") is not None
    health = poller.snapshot()
    assert health["okx"]["last_ok_ms"] == T0 and health["okx"]["symbols"] == 1
    assert health["binance"]["failures"] == 0 and health["binance"]["last_error"] is None


async def test_failing_venues_do_not_disturb_the_others(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    rig.bybit.status["/v5/market/tickers"] = 500
    rig.okx.raw["/api/v5/public/funding-rate"] = '{"code":"0","data":[{"instId":'
    poller = rig.poller()
    with caplog.at_level(logging.INFO, logger="bot.market.poller"):
        for i in range(3):
            rig.clock.now = T0 + i * 60_000
            stats = await poller.poll_once()
            assert stats.snapshots == {"binance": 4}
            assert sorted(stats.failed) == ["bybit", "okx"]
    assert await rig.dbt.run(poll_times) == [T0, T0 + 60_000, T0 + 120_000]
    assert set(await rig.stored()) == {"BTC", "PEPE", "ETH"}
    h = poller.snapshot()
    assert h["bybit"]["failures"] == 3 and h["bybit"]["streak"] == 3
    assert "HTTP 500" in str(h["bybit"]["last_error"]) and h["bybit"]["last_ok_ms"] is None
    assert "not JSON" in str(h["okx"]["last_error"])
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2  # once per venue per failure streak, not once per cycle
    del rig.bybit.status["/v5/market/tickers"]
    rig.clock.now = T0 + 180_000
    with caplog.at_level(logging.INFO, logger="bot.market.poller"):
        stats = await poller.poll_once()
    assert stats.snapshots["bybit"] == 2
    assert poller.snapshot()["bybit"]["streak"] == 0
    assert any("recovered after 3" in r.getMessage() for r in caplog.records)


async def test_timeout_counts_as_a_failure(rig: Rig) -> None:
    rig.okx.delay_s["/api/v5/public/open-interest"] = 1.0
    poller = rig.poller(request_timeout_s=0.2)
    stats = await poller.poll_once()
    assert stats.failed == ["okx"] and set(stats.snapshots) == {"binance", "bybit"}
    assert stats.wall_ms < 900
    assert poller.snapshot()["okx"]["failures"] == 1


async def test_binance_open_interest_bounded_and_rotated(rig: Rig) -> None:
    coins = [f"C{i}" for i in range(10)]
    rig.binance.bodies["/fapi/v1/premiumIndex"] = [
        binance_premium(f"{c}USDT", "2.0", "0.0001", NEXT) for c in [*coins, "OTHER"]
    ]
    rig.binance.bodies["/fapi/v1/openInterest"] = binance_open_interest(
        {f"{c}USDT": str(100 + i) for i, c in enumerate(coins)}
    )
    rig.focus = coins
    poller = rig.poller(oi_per_cycle=4)
    seen: list[str] = []
    for i in range(3):
        rig.clock.now = T0 + i * 60_000
        before = len(rig.binance.requests)
        stats = await poller.poll_once()
        asked = [r.split("=")[1] for r in rig.binance.requests[before:] if "openInterest" in r]
        assert stats.oi_requests == len(asked) == 4
        seen += asked
    assert sorted(set(seen)) == sorted(f"{c}USDT" for c in coins)  # all read within 3 cycles
    assert "OTHERUSDT" not in seen
    held = {s.symbol: s.oi_usd for s in rig.state.snapshots("C0") + rig.state.snapshots("C9")}
    assert held == {"C0USDT": 200.0, "C9USDT": 218.0}
    # the weight budget caps requests per minute whatever the cycle length
    fast_config = replace(Settings(), funding_poll_s=5.0).market_config()
    fast = MarketPoller(fast_config, rig.session, rig.state, None)
    assert fast.sources["binance"].oi.per_cycle == 20  # type: ignore[attr-defined]


async def test_rate_limit_pauses_the_venue(rig: Rig) -> None:
    rig.binance.status["/fapi/v1/premiumIndex"] = 429
    rig.binance.headers["/fapi/v1/premiumIndex"] = {"Retry-After": "120"}
    poller = rig.poller()
    await poller.poll_once()
    asked = len(rig.binance.requests)
    rig.clock.now = T0 + 60_000
    stats = await poller.poll_once()
    assert "binance" in stats.failed and len(rig.binance.requests) == asked  # left alone
    assert "paused" in str(poller.snapshot()["binance"]["last_error"])
    del rig.binance.status["/fapi/v1/premiumIndex"]
    rig.clock.now = T0 + 121_000
    stats = await poller.poll_once()
    assert stats.snapshots["binance"] == 4


async def test_reference_data_refreshed_hourly(rig: Rig) -> None:
    poller = rig.poller()
    for i in range(3):
        rig.clock.now = T0 + i * 60_000
        await poller.poll_once()
    assert rig.binance.count("/fapi/v1/fundingInfo") == 1
    assert rig.bybit.count("/v5/market/instruments-info") == 1
    # the interval changes at runtime: next hour's fundingInfo moves PEPE to 1 h
    rig.binance.bodies["/fapi/v1/fundingInfo"] = [binance_funding_info("1000PEPEUSDT", 1)]
    rig.clock.now = T0 + HOUR_MS
    await poller.poll_once()
    assert rig.binance.count("/fapi/v1/fundingInfo") == 2
    pepe = rig.state.coin("PEPE")
    assert pepe is not None and pepe.venues[0].funding_interval_h == 1.0


async def test_funding_info_failure_leaves_interval_unknown(rig: Rig) -> None:
    rig.binance.status["/fapi/v1/fundingInfo"] = 503
    poller = rig.poller()
    stats = await poller.poll_once()
    assert stats.snapshots["binance"] == 4 and "binance" in stats.failed
    btc = [s for s in rig.state.snapshots("BTC") if s.venue == "binance"]
    assert btc and all(s.funding_interval_h is None for s in btc)
    del rig.binance.status["/fapi/v1/fundingInfo"]
    rig.clock.now = T0 + 60_000
    await poller.poll_once()  # retried next cycle, not an hour later
    assert all(
        s.funding_interval_h == 8.0 for s in rig.state.snapshots("BTC") if s.venue == "binance"
    )


async def test_open_interest_also_for_the_largest_coins_elsewhere(rig: Rig) -> None:
    rig.focus = []
    rig.binance.bodies["/fapi/v1/premiumIndex"].append(
        binance_premium("MYXUSDT", "1.5", "0.0001", NEXT)
    )
    rig.binance.bodies["/fapi/v1/openInterest"] = binance_open_interest(
        {**BINANCE_OI, "MYXUSDT": "2000"}
    )
    poller = rig.poller(top_oi_coins=2)
    await poller.poll_once()
    assert rig.binance.count("/fapi/v1/openInterest") == 0  # nothing known yet
    rig.clock.now = T0 + 60_000
    await poller.poll_once()
    asked = sorted(r.split("=")[1] for r in rig.binance.requests if "openInterest" in r)
    # BTC and MYX lead by open interest on Bybit/OKX; ETH (no OI anywhere) is not asked
    assert asked == ["BTCUSDC", "BTCUSDT", "MYXUSDT"]


async def test_no_open_interest_while_binance_weight_is_high(rig: Rig) -> None:
    rig.binance.headers["/fapi/v1/premiumIndex"] = {"X-MBX-USED-WEIGHT-1M": "1300"}
    poller = rig.poller()
    stats = await poller.poll_once()
    assert stats.oi_requests == 0 and stats.snapshots["binance"] == 4
    assert rig.binance.count("/fapi/v1/openInterest") == 0
    rig.binance.headers["/fapi/v1/premiumIndex"] = {"X-MBX-USED-WEIGHT-1M": "40"}
    rig.clock.now = T0 + 60_000
    assert (await poller.poll_once()).oi_requests == 3


async def test_overlapping_cycles_are_skipped(rig: Rig) -> None:
    rig.okx.delay_s["/api/v5/public/mark-price"] = 0.3
    poller = rig.poller()
    first, second = await asyncio.gather(poller.poll_once(), poller.poll_once())
    assert not first.skipped and first.snapshots["okx"] == 1
    assert second.skipped and second.snapshots == {}
    assert rig.okx.count("/api/v5/public/mark-price") == 1

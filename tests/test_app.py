"""``liqwatch run`` in console mode against fake venues on 127.0.0.1, then a restart.

The whole process path: real feeds, ingest on the JobQueue, SQLite, shutdown flush; then a
fresh ``Core`` rebuilds the warm totals from the file with nothing lost.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from pathlib import Path

import pytest

from bench.fakes.venues import (
    FakeBinance,
    FakeBybit,
    FakeOkx,
    bybit_liquidation,
    force_order,
    okx_detail,
)
from bot.app import run_forever
from bot.config import Settings
from bot.core import Core
from bot.domain import WINDOWS
from tests.fakes.world import Venues, fake_venues, venue_env


@pytest.fixture
async def venues() -> AsyncIterator[Venues]:
    async with fake_venues(["BTCUSDT", "ETHUSDT"]) as started:
        yield started


def settings_for(db: Path, binance: FakeBinance, bybit: FakeBybit, okx: FakeOkx) -> Settings:
    return Settings.from_env(
        {
            "LIQWATCH_DB": str(db),
            **venue_env(binance, bybit, okx),
            "LIQWATCH_DEFAULT_RULES": "1h=30K",
        }
    )


async def wait_for(predicate: Callable[[], bool], within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


def stored_events(db: Path) -> int:
    if not db.exists():
        return 0
    with sqlite3.connect(db) as conn:
        try:
            return int(conn.execute("SELECT count(*) FROM events").fetchone()[0])
        except sqlite3.OperationalError:
            return 0


async def test_run_collects_stores_and_survives_restart(
    tmp_path: Path,
    venues: tuple[FakeBinance, FakeBybit, FakeOkx],
    capsys: pytest.CaptureFixture[str],
) -> None:
    binance, bybit, okx = venues
    db = tmp_path / "data" / "live.db"
    settings = settings_for(db, binance, bybit, okx)
    stop = asyncio.Event()
    task = asyncio.create_task(run_forever(settings, stop))

    await wait_for(lambda: bool(binance.subscribed("!forceOrder@arr")))
    await wait_for(lambda: bool(bybit.subscribed("allLiquidation.ETHUSDT")))
    await wait_for(lambda: bool(okx.subscribed("liquidation-orders:SWAP")))

    now = int(time.time() * 1000)
    await binance.push_force_orders([force_order("BTCUSDT", "SELL", "0.4", "64000.5", now - 5000)])
    await bybit.push_liquidations(
        "ETHUSDT",
        [
            bybit_liquidation("ETHUSDT", "Buy", "3", "3100.1", now - 4000),
            bybit_liquidation("ETHUSDT", "Sell", "2", "3101.9", now - 3900),
        ],
    )
    await okx.push_liquidations(
        "BTC-USDT-SWAP", [okx_detail("net", "buy", "25", "64010", now - 3000)]
    )
    long_usd = Decimal("0.4") * Decimal("64000.5") + 3 * Decimal("3100.1")
    short_usd = 2 * Decimal("3101.9") + 25 * Decimal("0.01") * Decimal("64010")

    await wait_for(lambda: stored_events(db) == 4)
    # Console mode: the default rule (1h >= $30K here) prints its alert to stdout, once.
    printed: list[str] = []
    await wait_for(lambda: printed.append(capsys.readouterr().out) or "🚨" in "".join(printed))
    await asyncio.sleep(1.2)
    printed.append(capsys.readouterr().out)
    assert "".join(printed).count("🚨") == 1
    assert "liquidated in 1h" in "".join(printed)
    stop.set()
    await asyncio.wait_for(task, 10)

    with sqlite3.connect(db) as conn:
        venues_up = {row[0] for row in conn.execute("SELECT venue FROM source_uptime")}
    assert venues_up == {"binance", "bybit", "okx"}

    # A fresh process rebuilds the warm index from the file: nothing committed is lost.
    core = await Core.open(settings.core_config())
    try:
        day = core.totals(WINDOWS["24h"])
        assert day.count == 4
        assert day.long_usd == pytest.approx(float(long_usd), abs=1e-6)
        assert day.short_usd == pytest.approx(float(short_usd), abs=1e-6)
        assert day.by_exchange["bybit"].long_usd == pytest.approx(9300.3)
        assert day.by_coin["ETH"].count == 2
        assert day.by_coin["BTC"].count == 2
        coverage = await core.coverage(WINDOWS["5m"])
        assert set(coverage) == {"binance", "bybit", "okx"}
        assert not coverage["okx"].complete and coverage["bybit"].complete
    finally:
        await core.close()

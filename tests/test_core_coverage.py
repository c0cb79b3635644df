"""Core.coverage against fake venues on 127.0.0.1: a fresh install, an outage in progress
and a restart, with real feeds, the real runs table and uptime in a real SQLite file."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiohttp
import pytest

from bench.fakes.venues import FakeBinance, FakeBybit, FakeOkx
from bot.clock import now_ms
from bot.config import Settings
from bot.core import Core
from bot.domain import WINDOWS
from bot.totals.result import window_bounds
from storage.db import open_db
from storage.runs import extend_run, open_run
from storage.uptime import extend_intervals, open_interval
from tests.fakes.world import Venues, fake_venues, venue_env


@pytest.fixture
async def venues() -> AsyncIterator[Venues]:
    async with fake_venues(["BTCUSDT"]) as started:
        yield started


def settings_for(db: Path, binance: FakeBinance, bybit: FakeBybit, okx: FakeOkx) -> Settings:
    return Settings.from_env(
        {
            "LIQWATCH_DB": str(db),
            **venue_env(binance, bybit, okx),
        }
    )


async def wait_for(predicate: Callable[[], bool], within: float = 15.0) -> None:
    deadline = time.monotonic() + within
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def test_fresh_install_is_not_collected_and_a_live_outage_counts_until_now(
    tmp_path: Path, venues: tuple[FakeBinance, FakeBybit, FakeOkx]
) -> None:
    binance, bybit, okx = venues
    settings = settings_for(tmp_path / "live.db", binance, bybit, okx)
    core = await Core.open(settings.core_config())
    assert core.run is not None
    started = core.run.start_ms
    try:
        async with aiohttp.ClientSession() as session:
            core.start_feeds(session)
            await wait_for(lambda: all(h.live for h in core.health.values()))

            # Fresh install: the window before the start is "not collected", never "down".
            fresh = await core.coverage(WINDOWS["1h"])
            start, _ = window_bounds(WINDOWS["1h"], now_ms())
            for cov in fresh.values():
                assert cov.not_collected == ((start, started),)
                assert cov.down_ms < 10_000  # only the wait for the first connection
            # Bybit and OKX answered their pings; Binance proves itself by data only.
            assert fresh["bybit"].outage_ms is None and fresh["okx"].outage_ms is None

            # OKX goes away and stays away: the outage counts up to now, at once.
            await okx.close_port()
            await wait_for(lambda: not core.health["okx"].live)
            dropped = core.health["okx"].down_since
            assert dropped is not None
            await asyncio.sleep(1.5)
            asked = now_ms()
            during = await core.coverage(WINDOWS["1h"])
            okx_cov = during["okx"]
            assert okx_cov.gaps[-1][0] == dropped
            assert okx_cov.gaps[-1][1] == okx_cov.horizon_ms >= asked
            assert okx_cov.down_ms >= asked - dropped
            assert okx_cov.outage_ms is not None and okx_cov.outage_ms >= asked - dropped
            assert during["binance"].gaps[-1][1] < dropped  # the healthy ones are live now
            assert during["binance"].down_ms == fresh["binance"].down_ms
    finally:
        await core.close()

    with sqlite3.connect(tmp_path / "live.db") as conn:
        runs = conn.execute("SELECT start_ms, end_ms, closed FROM runs").fetchall()
        still_open = conn.execute("SELECT count(*) FROM source_uptime WHERE closed = 0")
        assert still_open.fetchone()[0] == 0
    assert len(runs) == 1 and runs[0][0] == started and runs[0][2] == 1
    assert runs[0][1] >= dropped


async def test_time_between_a_kill_and_the_restart_is_not_collected(
    tmp_path: Path, venues: tuple[FakeBinance, FakeBybit, FakeOkx]
) -> None:
    binance, bybit, okx = venues
    db = tmp_path / "live.db"
    settings = settings_for(db, binance, bybit, okx)
    # What a process killed 2 minutes ago after running 10 minutes leaves behind: a run and
    # intervals still marked open, ending at their last extension.
    killed = now_ms() - 2 * 60_000
    dead = open_db(db)
    extend_run(dead, open_run(dead, killed - 600_000), killed)
    ids = [open_interval(dead, v, killed - 600_000) for v in ("binance", "bybit", "okx")]
    extend_intervals(dead, ids, killed)
    dead.close()

    core = await Core.open(settings.core_config())
    try:
        cov = await core.coverage(WINDOWS["15m"])
        assert core.run is not None
        for venue in ("binance", "bybit", "okx"):
            assert cov[venue].not_collected[-1] == (killed, core.run.start_ms)
            # No feed runs in this core: inside the new run every venue is down.
            assert cov[venue].down_ms == cov[venue].horizon_ms - core.run.start_ms
    finally:
        await core.close()
    with sqlite3.connect(db) as conn:
        closed = conn.execute("SELECT count(*) FROM runs WHERE closed = 0").fetchone()[0]
        assert closed == 0

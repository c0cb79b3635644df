"""UptimeWriter: ordered open/close, periodic extension, storage failures contained."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from bench.fakes.clock import Clock
from bot.ingest.uptime import MemoryUptime, StorageUptime, UptimeWriter
from storage.db import DbThread
from storage.uptime import read_uptime


async def test_open_extend_close_in_order() -> None:
    mem = MemoryUptime()
    clock = Clock(1_000)
    w = UptimeWriter(mem, "okx", extend_s=0.02, clock_ms=clock)
    w.start()
    w.opened(1_000)
    clock.now = 1_500
    for _ in range(500):
        if mem.intervals("okx") == [(1_000, 1_500, False)]:
            break
        await asyncio.sleep(0.01)
    assert mem.intervals("okx") == [(1_000, 1_500, False)]
    w.closed(1_700)
    w.opened(2_000)
    w.closed(2_100)
    await w.aclose()
    assert mem.intervals("okx") == [(1_000, 1_700, True), (2_000, 2_100, True)]
    assert mem.intervals("bybit") == []


async def test_open_while_open_closes_the_dangling_interval_first() -> None:
    mem = MemoryUptime()
    w = UptimeWriter(mem, "bybit", extend_s=5.0, clock_ms=Clock(0))
    w.start()
    w.opened(10)
    w.opened(20)
    w.closed(30)
    w.closed(40)  # nothing open: ignored
    await w.aclose()
    assert mem.intervals("bybit") == [(10, 20, True), (20, 30, True)]


class Flaky(MemoryUptime):
    """Fails the first open, like a locked database would."""

    def __init__(self) -> None:
        super().__init__()
        self.failed = False

    async def open(self, venue: str, start_ms: int) -> int:
        if not self.failed:
            self.failed = True
            raise OSError("database is locked")
        return await super().open(venue, start_ms)


async def test_a_failing_recorder_is_logged_and_does_not_stop_the_writer(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rec = Flaky()
    w = UptimeWriter(rec, "binance", extend_s=5.0, clock_ms=Clock(0))
    w.start()
    w.opened(100)  # fails: no interval, the close is skipped
    w.closed(200)
    w.opened(300)
    w.closed(400)
    await w.aclose()
    assert rec.intervals("binance") == [(300, 400, True)]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [r.getMessage() for r in warnings] == [
        "binance: uptime open failed (OSError: database is locked)"
    ]
    assert warnings[0].exc_info is None


async def test_storage_backed_intervals_land_in_sqlite(tmp_path: Path) -> None:
    dbt = DbThread(tmp_path / "liq.db")
    try:
        clock = Clock(10_000)
        w = UptimeWriter(StorageUptime(dbt), "bybit", extend_s=0.02, clock_ms=clock)
        w.start()
        w.opened(10_000)
        clock.now = 12_000
        # Extended while open: a crash now would keep 10 s..12 s.
        for _ in range(500):
            rows = await dbt.run(read_uptime, 0, 20_000)
            if rows == [("bybit", 10_000, 12_000)]:
                break
            await asyncio.sleep(0.01)
        assert rows == [("bybit", 10_000, 12_000)]
        w.closed(12_500)
        w.opened(15_000)
        w.closed(16_000)
        await w.aclose()
        assert await dbt.run(read_uptime, 0, 20_000) == [
            ("bybit", 10_000, 12_500),
            ("bybit", 15_000, 16_000),
        ]
    finally:
        await dbt.close()


async def test_stored_intervals_are_open_until_closed(tmp_path: Path) -> None:
    """Only an open interval may be stretched to now by the coverage slack; the feed's
    close marks it closed, so an outage in progress counts from the drop (issue 7)."""
    from storage.uptime import read_intervals

    dbt = DbThread(tmp_path / "liq.db")
    try:
        w = UptimeWriter(StorageUptime(dbt), "okx", extend_s=5.0, clock_ms=Clock(0))
        w.start()
        w.opened(1_000)
        for _ in range(500):
            if await dbt.run(read_intervals, 0, 20_000):
                break
            await asyncio.sleep(0.01)
        assert await dbt.run(read_intervals, 0, 20_000) == [("okx", 1_000, 1_000, True)]
        w.closed(3_000)
        await w.aclose()
        assert await dbt.run(read_intervals, 0, 20_000) == [("okx", 1_000, 3_000, False)]
    finally:
        await dbt.close()

"""RunKeeper: the process's run row is begun, extended while alive, closed at the end."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bench.fakes.clock import Clock
from bot.ingest.runs import RunKeeper
from storage.db import DbThread
from storage.runs import read_runs
from storage.uptime import open_interval, read_intervals


async def test_run_is_extended_while_alive_and_closed_at_the_end(tmp_path: Path) -> None:
    dbt = DbThread(tmp_path / "liq.db")
    try:
        await dbt.run(open_interval, "okx", 500)  # left open by a killed predecessor
        clock = Clock(1_000)
        keeper = await RunKeeper.begin(dbt, clock, extend_s=0.02)
        assert keeper.start_ms == 1_000
        assert await dbt.run(read_intervals, 0, 10_000) == [("okx", 500, 500, False)]
        clock.now = 4_000
        for _ in range(500):
            if await dbt.run(read_runs, 0, 10_000) == [(1_000, 4_000, True)]:
                break
            await asyncio.sleep(0.01)
        # A kill -9 now would leave the run ending at 4 s.
        assert await dbt.run(read_runs, 0, 10_000) == [(1_000, 4_000, True)]
        clock.now = 5_000
        await keeper.end()
        assert await dbt.run(read_runs, 0, 10_000) == [(1_000, 5_000, False)]
    finally:
        await dbt.close()

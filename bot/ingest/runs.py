"""Records that this liqwatch process is running (``storage.runs``), crash-safely.

``RunKeeper.begin`` writes the run at start-up (closing what a killed predecessor left
open), a background task extends its end every ``extend_s`` so a kill -9 loses at most that
much, and ``end`` closes it at shutdown. Storage failures are logged and never stop the app.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from sqlite_utils import Database

from storage.db import DbThread
from storage.runs import close_run, extend_run, open_run
from storage.uptime import close_abandoned_intervals

log = logging.getLogger(__name__)

EXTEND_S = 30.0  # like the uptime intervals (bot.ingest.feed.FeedTiming.uptime_extend_s)


def _begin(db: Database, start_ms: int) -> int:
    abandoned = close_abandoned_intervals(db)
    if abandoned:
        log.info("closed %d feed interval(s) a previous process left open", abandoned)
    return open_run(db, start_ms)


class RunKeeper:
    """The current process's run row: begun, extended periodically, ended."""

    def __init__(
        self, dbt: DbThread, run_id: int, start_ms: int, clock_ms: Callable[[], int]
    ) -> None:
        self.run_id = run_id
        self.start_ms = start_ms
        self._dbt = dbt
        self._clock = clock_ms
        self._task: asyncio.Task[None] | None = None

    @classmethod
    async def begin(
        cls, dbt: DbThread, clock_ms: Callable[[], int], extend_s: float = EXTEND_S
    ) -> RunKeeper:
        """Write a run starting now and start extending it (inside the running loop)."""
        start = clock_ms()
        run_id = await dbt.run(_begin, start)
        keeper = cls(dbt, run_id, start, clock_ms)
        keeper._task = asyncio.get_running_loop().create_task(
            keeper._extend_forever(extend_s), name="run-extend"
        )
        return keeper

    async def _extend_forever(self, extend_s: float) -> None:
        while True:
            await asyncio.sleep(extend_s)
            try:
                await self._dbt.run(extend_run, self.run_id, self._clock())
            except Exception as exc:  # storage trouble must not stop the app; retried
                log.warning("run extension failed (%s: %s)", type(exc).__name__, exc)

    async def end(self) -> None:
        """Stop extending and close the run at now."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        try:
            await self._dbt.run(close_run, self.run_id, self._clock())
        except Exception as exc:  # the next start closes it at its last extension
            log.warning("closing the run failed (%s: %s)", type(exc).__name__, exc)

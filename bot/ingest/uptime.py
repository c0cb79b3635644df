"""Where the feed records the periods each venue was connected (coverage, gaps).

The runner only knows the small async ``UptimeRecorder`` protocol. ``MemoryUptime`` keeps
intervals in memory (tests, runs without a database); ``StorageUptime`` backs it with
``storage.uptime`` on the DB thread. ``UptimeWriter`` serialises one venue's
open/extend/close calls in a background task so the websocket loop never waits on storage
and a slow or failing database cannot stall or kill the feed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Literal, Protocol

from storage.db import DbThread
from storage.uptime import close_interval, extend_intervals, open_interval

log = logging.getLogger(__name__)


class UptimeRecorder(Protocol):
    """Stores connected intervals per venue; ids are the recorder's own."""

    async def open(self, venue: str, start_ms: int) -> int:
        """Start an interval for ``venue`` at ``start_ms`` and return its id."""
        ...

    async def extend(self, ids: Sequence[int], now_ms: int) -> None:
        """Move the end of the open intervals ``ids`` to ``now_ms``."""
        ...

    async def close(self, interval_id: int, end_ms: int) -> None:
        """End interval ``interval_id`` at ``end_ms``."""
        ...


class MemoryUptime:
    """An ``UptimeRecorder`` holding ``[venue, start_ms, end_ms, closed]`` rows in a list."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, int, int, bool]] = []

    async def open(self, venue: str, start_ms: int) -> int:
        """Append an interval ending where it starts; its id is its index."""
        self.rows.append((venue, start_ms, start_ms, False))
        return len(self.rows) - 1

    async def extend(self, ids: Sequence[int], now_ms: int) -> None:
        """Move the end of each still-open interval in ``ids`` to ``now_ms``."""
        for i in ids:
            venue, start, end, closed = self.rows[i]
            if not closed:
                self.rows[i] = (venue, start, max(end, now_ms), False)

    async def close(self, interval_id: int, end_ms: int) -> None:
        """End interval ``interval_id`` at ``end_ms`` for good."""
        venue, start, _, _ = self.rows[interval_id]
        self.rows[interval_id] = (venue, start, end_ms, True)

    def intervals(self, venue: str) -> list[tuple[int, int, bool]]:
        """``(start_ms, end_ms, closed)`` for ``venue`` in the order they were opened."""
        return [(s, e, c) for v, s, e, c in self.rows if v == venue]


class StorageUptime:
    """An ``UptimeRecorder`` on ``storage.uptime``, every call queued to the DB thread."""

    def __init__(self, dbt: DbThread) -> None:
        self._dbt = dbt

    async def open(self, venue: str, start_ms: int) -> int:
        """Insert an interval row; its rowid is the id."""
        return await self._dbt.run(open_interval, venue, start_ms)

    async def extend(self, ids: Sequence[int], now_ms: int) -> None:
        """Push the end of the open rows ``ids`` to ``now_ms``."""
        await self._dbt.run(extend_intervals, list(ids), now_ms)

    async def close(self, interval_id: int, end_ms: int) -> None:
        """Set the final end of row ``interval_id``."""
        await self._dbt.run(close_interval, interval_id, end_ms)


Op = tuple[Literal["open", "close"], int]


class UptimeWriter:
    """Feeds one venue's up/down transitions to a recorder, in order, off the hot path.

    ``opened``/``closed`` are cheap and synchronous; the writer task performs the calls and
    extends the open interval every ``extend_s`` so a crash loses at most that much.
    """

    def __init__(
        self,
        recorder: UptimeRecorder,
        venue: str,
        extend_s: float,
        clock_ms: Callable[[], int],
    ) -> None:
        self._recorder = recorder
        self._venue = venue
        self._extend_s = extend_s
        self._clock = clock_ms
        self._queue: asyncio.Queue[Op] = asyncio.Queue()
        self._current: int | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the background task (inside the running loop)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    def opened(self, start_ms: int) -> None:
        """The venue became live at ``start_ms``."""
        self._queue.put_nowait(("open", start_ms))

    def closed(self, end_ms: int) -> None:
        """The venue stopped being live at ``end_ms``."""
        self._queue.put_nowait(("close", end_ms))

    async def aclose(self) -> None:
        """Perform every queued call, then stop the task."""
        if self._task is None:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._queue.join(), timeout=10.0)
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def _run(self) -> None:
        while True:
            try:
                op, ms = await asyncio.wait_for(self._queue.get(), timeout=self._extend_s)
            except TimeoutError:
                if self._current is not None:
                    await self._call("extend", self._extend_now)
                continue
            try:
                if op == "open":
                    if self._current is not None:  # never leave an interval dangling
                        await self._call("close", self._close_current, ms)
                    await self._call("open", self._open, ms)
                elif self._current is not None:
                    await self._call("close", self._close_current, ms)
            finally:
                self._queue.task_done()

    async def _open(self, ms: int) -> None:
        self._current = await self._recorder.open(self._venue, ms)

    async def _close_current(self, ms: int) -> None:
        interval_id, self._current = self._current, None
        if interval_id is not None:
            await self._recorder.close(interval_id, ms)

    async def _extend_now(self) -> None:
        if self._current is not None:
            await self._recorder.extend([self._current], self._clock())

    async def _call(self, what: str, fn: Callable[..., Awaitable[None]], *args: int) -> None:
        try:
            await fn(*args)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # storage trouble must not stop the feed; say it once per call
            name = type(exc).__name__
            log.warning("%s: uptime %s failed (%s: %s)", self._venue, what, name, exc)

"""Buffering parsed liquidations and committing them in batches.

The event loop calls ``add`` for every parsed message (cheap: a list extend) and
``flush`` on a timer. A flush aggregates the batch into bucket deltas and commits raw
events plus deltas in one transaction on the DB thread; only after the commit are the
deltas applied to the in-memory totals and handed to listeners, so nothing downstream
ever sees data that a crash could take back.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Protocol

from sqlite_utils import Database

from bot.domain import BucketDelta, BucketKey, Liquidation
from bot.ingest.aggregate import bucket_deltas
from storage.buckets import write_batch
from storage.db import DbThread
from storage.rowwise import unwritable, write_each

log = logging.getLogger(__name__)

Deltas = Mapping[BucketKey, BucketDelta]
Listener = Callable[[Deltas], object]


class DeltaIndex(Protocol):
    """Anything that folds committed deltas into its state (``bot.totals.query.TotalsIndex``)."""

    def apply(self, deltas: Deltas) -> None:
        """Add ``deltas`` to the index."""
        ...


@dataclass(slots=True)
class IngestStats:
    """Counters for logs and /status: committed events, batches, flush timings."""

    events: int = 0
    batches: int = 0
    failures: int = 0
    dropped: int = 0
    last_flush_s: float = 0.0
    max_flush_s: float = 0.0


def commit_batch(db: Database, events: Sequence[Liquidation]) -> dict[BucketKey, BucketDelta]:
    """Aggregate ``events`` and commit them with their deltas; returns the deltas.

    Runs wherever ``db`` lives (the DB thread in the app), keeping the aggregation work
    off the event loop too. If SQLite refuses a value of the batch, the events are written
    one by one and those it refuses are left out (logged once per batch): the deltas
    returned are those of the events stored. A failing database raises as before.
    """
    deltas = bucket_deltas(events)
    try:
        write_batch(db, events, deltas)
        return deltas
    except Exception as exc:
        if not unwritable(exc):
            raise
    each = write_each(db, events, _write_one)
    log.error(
        "ingest: left out %d unwritable of %d events (%s)",
        len(each.skipped),
        len(events),
        each.describe(),
    )
    skipped = {id(e) for e, _ in each.skipped}
    return bucket_deltas(e for e in events if id(e) not in skipped)


def _write_one(db: Database, events: Sequence[Liquidation]) -> None:
    write_batch(db, events, bucket_deltas(events))


class Ingestor:
    """Batches events into the database, then feeds the totals index and listeners.

    A failed commit puts its batch back for the next flush; after ``max_attempts``
    consecutive failures the batch is dropped (counted, logged) so one poisonous batch
    cannot wedge ingestion forever. ``max_pending`` bounds memory while the database is
    failing: beyond it the oldest buffered events are dropped (and counted).
    """

    def __init__(
        self,
        dbt: DbThread | None,
        index: DeltaIndex | None = None,
        listeners: Iterable[Listener] = (),
        max_pending: int = 1_000_000,
        max_attempts: int = 3,
    ) -> None:
        self.dbt = dbt
        self.index = index
        self.listeners = list(listeners)
        self.max_pending = max_pending
        self.max_attempts = max_attempts
        self._attempts = 0  # consecutive failed commits
        self.stats = IngestStats()
        self._pending: list[Liquidation] = []
        self._lock = asyncio.Lock()

    @property
    def pending(self) -> int:
        """Events buffered and not yet committed."""
        return len(self._pending)

    def add(self, events: Iterable[Liquidation]) -> None:
        """Buffer ``events`` for the next flush (sync, O(len(events)))."""
        pending = self._pending
        pending.extend(events)
        if len(pending) > self.max_pending:
            excess = len(pending) - self.max_pending
            del pending[:excess]
            self.stats.dropped += excess
            log.warning("ingest buffer full: dropped %d oldest events", excess)

    async def flush(self) -> int:
        """Commit everything buffered on the DB thread; returns the events committed.

        If the commit fails the batch goes back to the front of the buffer (see the class
        docstring for the limit) and the error propagates. If this coroutine is cancelled
        once the batch is queued, the commit still completes and its deltas are published
        when it does.
        """
        if self.dbt is None:
            raise RuntimeError("Ingestor has no DbThread; use flush_sync(db)")
        async with self._lock:
            events = self._take()
            if not events:
                return 0
            started = time.perf_counter()
            job = asyncio.ensure_future(self.dbt.run(commit_batch, events))
            try:
                deltas = await asyncio.shield(job)
            except asyncio.CancelledError:
                if not job.done():
                    job.add_done_callback(partial(self._finish_late, events, started))
                    raise
                deltas = job.result()  # the commit won the race with the cancel
            except Exception:
                self._failed(events)
                raise
            return self._finish(events, deltas, started)

    def flush_sync(self, db: Database) -> int:
        """Commit everything buffered using ``db`` on the calling thread (replay, bench)."""
        events = self._take()
        if not events:
            return 0
        started = time.perf_counter()
        try:
            deltas = commit_batch(db, events)
        except Exception:
            self._failed(events)
            raise
        return self._finish(events, deltas, started)

    def _take(self) -> list[Liquidation]:
        events, self._pending = self._pending, []
        return events

    def _failed(self, events: list[Liquidation]) -> None:
        self.stats.failures += 1
        self._attempts += 1
        if self._attempts >= self.max_attempts:
            self._attempts = 0
            self.stats.dropped += len(events)
            log.error(
                "ingest: dropping %d events after %d failed commits",
                len(events),
                self.max_attempts,
            )
        else:
            self._pending[:0] = events

    def _finish_late(
        self, events: list[Liquidation], started: float, job: asyncio.Future[Deltas]
    ) -> None:
        if job.cancelled():
            self._failed(events)
        elif (exc := job.exception()) is not None:
            self._failed(events)
            log.error("ingest commit failed after cancel", exc_info=exc)
        else:
            self._finish(events, job.result(), started)

    def _finish(self, events: Sequence[Liquidation], deltas: Deltas, started: float) -> int:
        """Count and publish a committed batch; returns the events stored (those SQLite
        refused are counted as dropped)."""
        elapsed = time.perf_counter() - started
        self._attempts = 0
        stats = self.stats
        stored = sum(d.count for d in deltas.values())
        stats.events += stored
        stats.dropped += len(events) - stored
        stats.batches += 1
        stats.last_flush_s = elapsed
        stats.max_flush_s = max(stats.max_flush_s, elapsed)
        # Data is committed: a failing consumer must not stop ingestion or the others.
        if self.index is not None:
            try:
                self.index.apply(deltas)
            except Exception:
                log.exception("totals index rejected a batch")
        for listener in self.listeners:
            try:
                listener(deltas)
            except Exception:
                log.exception("ingest listener %r failed", listener)
        return stored

"""The storage side of one process: the single-writer DB thread, the warm totals index
rebuilt from it, the ingestor that commits into both, and retention.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from bot.clock import now_ms
from bot.config import StoreConfig
from bot.domain import HOUR_MS, MINUTE_MS, WINDOWS
from bot.ingest.ingestor import Ingestor, Listener
from bot.ingest.runs import RunKeeper
from bot.totals.index import TotalsIndex
from bot.totals.query import load_from_db
from storage import outbox
from storage.buckets import prune
from storage.db import DbThread
from storage.market import prune_market
from storage.runs import prune_runs
from storage.uptime import prune_uptime

log = logging.getLogger(__name__)

# The warm index serves every window up to 7 d; one extra hour covers the partial edge.
INDEX_SPAN_MS = WINDOWS["7d"] + HOUR_MS
# Minute buckets outlive raw events: they are all totals need, and they are small.
BUCKET_KEEP_DAYS = 90
DAY_MS = 24 * HOUR_MS
OUTBOX_KEEP_MS = 7 * DAY_MS  # sent and failed messages (issue 7, item 11)


@dataclass
class Store:
    """The database, the warm index and (once :meth:`start_ingest` ran) the ingestor."""

    config: StoreConfig
    dbt: DbThread
    index: TotalsIndex
    # This process's row in storage.runs: what tells "venue down" from "not collected".
    run: RunKeeper
    ingestor: Ingestor | None = None

    @classmethod
    async def open(cls, config: StoreConfig) -> Store:
        """Open the database, rebuild the warm index from it and begin this run."""
        dbt = DbThread(config.db_path)
        index = TotalsIndex()
        now = now_ms()
        # Nothing else touches the index yet, so filling it on the DB thread is safe.
        rows = await dbt.run(
            lambda db: load_from_db(index, db, now - INDEX_SPAN_MS, now + MINUTE_MS)
        )
        log.info("database %s: %d minute buckets loaded for the last 7 days", config.db_path, rows)
        run = await RunKeeper.begin(dbt, now_ms)
        return cls(config, dbt, index, run)

    def start_ingest(self, on_commit: Iterable[Listener]) -> Ingestor:
        """The ingestor, telling ``on_commit`` each committed batch's bucket deltas."""
        self.ingestor = Ingestor(self.dbt, self.index, on_commit)
        return self.ingestor

    async def flush(self) -> int:
        """Commit buffered events; a failure is logged in one line and retried next time."""
        if self.ingestor is None or not self.ingestor.pending:
            return 0
        try:
            return await self.ingestor.flush()
        except Exception as exc:  # the batch is kept for the next flush; say why once
            log.warning("ingest commit failed (%s: %s); will retry", type(exc).__name__, exc)
            return 0

    async def prune(self) -> None:
        """Drop raw events past retention, buckets past their keep, and cold index hours."""
        now = now_ms()
        retention_days = self.config.retention_days
        events_before = now - int(retention_days * DAY_MS)
        buckets_before = now - int(max(BUCKET_KEEP_DAYS, retention_days) * DAY_MS)
        n_events, n_buckets = await self.dbt.run(prune, events_before, buckets_before)
        await self.dbt.run(prune_market, now)
        self.index.drop_before(now - INDEX_SPAN_MS)
        if n_events or n_buckets:
            log.info("pruned %d raw events and %d minute buckets", n_events, n_buckets)
        await self._prune_history(now, buckets_before)

    async def _prune_history(self, now: int, uptime_before: int) -> None:
        """Sent and failed outbox rows go after a week (pending ones never); feed uptime
        and runs live as long as the buckets whose coverage they tell."""
        messages = 0
        while n := await self.dbt.run(outbox.prune, now - OUTBOX_KEEP_MS):
            messages += n  # in chunks, so other DB jobs run in between
            if n < outbox.PRUNE_CHUNK:
                break
        spans = await self.dbt.run(prune_uptime, uptime_before)
        spans += await self.dbt.run(prune_runs, uptime_before)
        if messages or spans:
            log.info("pruned %d outbox messages and %d uptime/run records", messages, spans)

    async def close(self) -> None:
        """End this run, flush what is buffered, close the file (feeds stopped first)."""
        await self.run.end()
        await self.flush()
        await self.dbt.close()

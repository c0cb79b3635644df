"""The data core of a running liqwatch: storage thread, warm totals index, ingest, feeds.

``Core`` owns no scheduler and no Telegram: ``bot.app`` wires it to the JobQueue and, with
a token, to the bot. Everything here is created once at start-up from its part of the
settings (``CoreConfig``, built by ``Settings.core_config``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

import aiohttp

from bot.clock import now_ms
from bot.config import CoreConfig
from bot.domain import HOUR_MS, MINUTE_MS, WINDOWS
from bot.ingest.feed import FeedRunner
from bot.ingest.health import SourceHealth
from bot.ingest.ingestor import Ingestor, Listener
from bot.ingest.refdata import RefDataPoller
from bot.ingest.runs import RunKeeper
from bot.ingest.uptime import StorageUptime
from bot.market.poller import MarketPoller
from bot.market.state import MarketState
from bot.totals.index import TotalsIndex
from bot.totals.query import coverage_from_db, load_from_db
from bot.totals.result import Totals
from bot.totals.service import CoverageMap, TotalsService, live_coverage
from bot.venues import make_source
from bot.venues.base import VenueSource
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
FOCUS_TOP = 30  # coins whose Binance open interest is polled (plus watched ones)


@dataclass(frozen=True, slots=True)
class FeedHooks:
    """What runs downstream of the feeds, handed over once by the composition root.

    ``on_commit`` gets each committed batch's bucket deltas (alert ticks); ``after_poll``
    runs after every market poll (funding alerts; a failure is logged, not raised);
    ``focus`` adds coins whose open interest matters (the chats' watched coins).
    """

    on_commit: tuple[Listener, ...] = ()
    after_poll: tuple[Callable[[], Awaitable[object]], ...] = ()
    focus: tuple[Callable[[], Iterable[str]], ...] = ()


@dataclass
class Core:
    """Storage, totals and feeds of one running process."""

    config: CoreConfig
    dbt: DbThread
    index: TotalsIndex
    sources: dict[str, VenueSource]
    health: dict[str, SourceHealth]
    market: MarketState
    # The one totals query (totals, coverage, market context, series) over this index.
    totals_service: TotalsService
    # The feed side, built by start_feeds with the hooks the composition root passes.
    ingestor: Ingestor | None = None
    poller: MarketPoller | None = None
    hooks: FeedHooks = field(default_factory=lambda: FeedHooks())
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    # This process's row in storage.runs: what tells "venue down" from "not collected".
    run: RunKeeper | None = None

    @classmethod
    async def open(cls, config: CoreConfig) -> Core:
        """Open the database and rebuild the warm index from it (nothing starts yet)."""
        dbt = DbThread(config.store.db_path)
        index = TotalsIndex()
        now = now_ms()
        # Nothing else touches the index yet, so filling it on the DB thread is safe.
        rows = await dbt.run(
            lambda db: load_from_db(index, db, now - INDEX_SPAN_MS, now + MINUTE_MS)
        )
        log.info(
            "database %s: %d minute buckets loaded for the last 7 days", config.store.db_path, rows
        )
        venues = config.feeds.venues
        sources = {name: make_source(name, config.feeds) for name in venues}
        run = await RunKeeper.begin(dbt, now_ms)
        health = {
            name: SourceHealth(
                name, started_ms=run.start_ms, data_only=sources[name].heartbeat.data_only
            )
            for name in venues
        }
        market = MarketState(dbt, config.market.funding_poll_s)
        await market.load()

        def stored(start: int, end: int, now: int) -> Awaitable[CoverageMap]:
            return dbt.run(coverage_from_db, venues, start, end, now)

        def known_coins() -> frozenset[str]:
            return frozenset(c for source in sources.values() for c in source.coins())

        service = TotalsService(
            index,
            venues,
            coverage=live_coverage(stored, health, now_ms),
            market=market,
            known_coins=known_coins,
            now_ms=now_ms,
        )
        return cls(config, dbt, index, sources, health, market, service, run=run)

    def start_feeds(self, session: aiohttp.ClientSession, hooks: FeedHooks | None = None) -> None:
        """Build the ingestor with ``hooks``, start, per venue, the reference-data poller
        and the websocket runner; create the funding / open-interest poller (the JobQueue
        runs it)."""
        self.hooks = hooks or FeedHooks()
        ingestor = self.ingestor = Ingestor(self.dbt, self.index, self.hooks.on_commit)
        self.poller = MarketPoller(
            self.config.market, session, self.market, self.dbt, focus_coins=self.focus_coins
        )
        uptime = StorageUptime(self.dbt)
        for name, source in self.sources.items():
            runner = FeedRunner(source, session, ingestor.add, self.health[name], uptime)
            poller = RefDataPoller(
                source, session, self.config.feeds.rest_url(name), on_change=runner.refresh
            )
            self._tasks.append(asyncio.create_task(runner.run(), name=f"feed-{name}"))
            if source.rest_paths():
                self._tasks.append(asyncio.create_task(poller.run(), name=f"refdata-{name}"))

    def focus_coins(self) -> list[str]:
        """The 30 coins with the most liquidations in 24 h, then every watched coin."""
        coins = [coin for coin, _ in self.totals(WINDOWS["24h"]).top_coins(FOCUS_TOP)]
        for provider in self.hooks.focus:
            coins.extend(c for c in provider() if c not in coins)
        return coins

    def market_health(self) -> dict[str, dict[str, object]]:
        """Per venue, the funding / open-interest poll's health (empty before it starts)."""
        return self.poller.snapshot() if self.poller is not None else {}

    async def poll_market(self) -> None:
        """One funding / open-interest cycle, then its listeners (funding alerts)."""
        if self.poller is None:
            return
        await self.poller.poll_once()
        for listener in self.hooks.after_poll:
            try:
                await listener()
            except Exception:  # one failing listener must not stop the others or the job
                log.exception("market listener failed")

    async def flush(self) -> int:
        """Commit buffered events; a failure is logged in one line and retried next time."""
        if self.ingestor is None or not self.ingestor.pending:
            return 0
        try:
            return await self.ingestor.flush()
        except Exception as exc:  # the batch is kept for the next flush; say why once
            log.warning("ingest commit failed (%s: %s); will retry", type(exc).__name__, exc)
            return 0

    def totals(self, window_ms: int, coin: str | None = None, end_ms: int | None = None) -> Totals:
        """Totals from the warm index over the enabled venues (no coverage attached)."""
        return self.totals_service.totals(window_ms, coin, end_ms)

    async def coverage(self, window_ms: int, end_ms: int | None = None) -> CoverageMap:
        """Each enabled venue's coverage of the window ending at ``end_ms`` (default now):
        stored uptime and runs, plus the live feed facts (current outage, refused topics)."""
        return await self.totals_service.coverage(window_ms, end_ms)

    async def prune(self) -> None:
        """Drop raw events past retention, buckets past their keep, and cold index hours."""
        now = now_ms()
        retention_days = self.config.store.retention_days
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
        """Stop the feeds (closing their uptime), flush what is buffered, close the file."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if self.run is not None:
            await self.run.end()
        await self.flush()
        await self.dbt.close()

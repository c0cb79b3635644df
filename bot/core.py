"""The data core of a running liqwatch: it owns the lifecycle of three sides.

- storage (``bot.ingest.store.Store``): DB thread, warm totals index, ingestor, retention;
- feeds (``bot.ingest.feeds.Feeds``): per venue adapter, health, websocket runner and
  reference-data poller, started and stopped together;
- market (``bot.market.watch.MarketWatch``): funding / open-interest state and its poller.

``Core`` owns no scheduler and no Telegram: ``bot.app`` wires it to the JobQueue and, with
a token, to the bot. Everything here is created once at start-up from its part of the
settings (``CoreConfig``, built by ``Settings.core_config``).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

import aiohttp

from bot.clock import now_ms
from bot.config import CoreConfig
from bot.domain import WINDOWS
from bot.ingest.feeds import Feeds
from bot.ingest.health import SourceHealth
from bot.ingest.ingestor import Listener
from bot.ingest.runs import RunKeeper
from bot.ingest.store import BUCKET_KEEP_DAYS, DAY_MS, INDEX_SPAN_MS, OUTBOX_KEEP_MS, Store
from bot.ingest.uptime import StorageUptime
from bot.market.state import MarketState
from bot.market.watch import MarketWatch
from bot.totals.index import TotalsIndex
from bot.totals.query import coverage_from_db
from bot.totals.result import Totals
from bot.totals.service import CoverageMap, TotalsService, live_coverage
from storage.db import DbThread

__all__ = [
    "BUCKET_KEEP_DAYS",
    "DAY_MS",
    "FOCUS_TOP",
    "INDEX_SPAN_MS",
    "OUTBOX_KEEP_MS",
    "Core",
    "FeedHooks",
]

log = logging.getLogger(__name__)

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
    """Storage, feeds and market of one process, and the totals query over them."""

    config: CoreConfig
    store: Store
    feeds: Feeds
    watch: MarketWatch
    # The one totals query (totals, coverage, market context, series) over this index.
    totals_service: TotalsService
    hooks: FeedHooks = field(default_factory=lambda: FeedHooks())

    @classmethod
    async def open(cls, config: CoreConfig) -> Core:
        """Open the database and rebuild the warm index from it (nothing starts yet)."""
        store = await Store.open(config.store)
        feeds = Feeds.build(config.feeds, store.run.start_ms)
        watch = await MarketWatch.load(config.market, store.dbt)
        venues = config.feeds.venues
        dbt = store.dbt

        def stored(start: int, end: int, now: int) -> Awaitable[CoverageMap]:
            return dbt.run(coverage_from_db, venues, start, end, now)

        service = TotalsService(
            store.index,
            venues,
            coverage=live_coverage(stored, feeds.health, now_ms),
            market=watch.state,
            known_coins=feeds.known_coins,
            now_ms=now_ms,
        )
        return cls(config, store, feeds, watch, service)

    # The parts handlers, the alert side and tests reach through the core.
    @property
    def dbt(self) -> DbThread:
        """The single-writer database thread."""
        return self.store.dbt

    @property
    def index(self) -> TotalsIndex:
        """The warm totals index."""
        return self.store.index

    @property
    def run(self) -> RunKeeper:
        """This process's row in ``storage.runs``."""
        return self.store.run

    @property
    def health(self) -> dict[str, SourceHealth]:
        """Per venue, the live feed health."""
        return self.feeds.health

    @property
    def market(self) -> MarketState:
        """Funding, mark prices and open interest as last polled."""
        return self.watch.state

    def start_feeds(self, session: aiohttp.ClientSession, hooks: FeedHooks | None = None) -> None:
        """Build the ingestor with ``hooks``, start, per venue, the reference-data poller
        and the websocket runner; create the funding / open-interest poller (the JobQueue
        runs it)."""
        self.hooks = hooks or FeedHooks()
        ingestor = self.store.start_ingest(self.hooks.on_commit)
        self.watch.start(session, self.store.dbt, self.focus_coins)
        self.feeds.start(session, ingestor.add, StorageUptime(self.store.dbt))

    def focus_coins(self) -> list[str]:
        """The 30 coins with the most liquidations in 24 h, then every watched coin."""
        coins = [coin for coin, _ in self.totals(WINDOWS["24h"]).top_coins(FOCUS_TOP)]
        for provider in self.hooks.focus:
            coins.extend(c for c in provider() if c not in coins)
        return coins

    def market_health(self) -> dict[str, dict[str, object]]:
        """Per venue, the funding / open-interest poll's health (empty before it starts)."""
        return self.watch.health()

    async def poll_market(self) -> None:
        """One funding / open-interest cycle, then its listeners (funding alerts)."""
        if await self.watch.poll() is None:
            return
        for listener in self.hooks.after_poll:
            try:
                await listener()
            except Exception:  # one failing listener must not stop the others or the job
                log.exception("market listener failed")

    async def flush(self) -> int:
        """Commit buffered events; a failure is logged in one line and retried next time."""
        return await self.store.flush()

    def totals(self, window_ms: int, coin: str | None = None, end_ms: int | None = None) -> Totals:
        """Totals from the warm index over the enabled venues (no coverage attached)."""
        return self.totals_service.totals(window_ms, coin, end_ms)

    async def coverage(self, window_ms: int, end_ms: int | None = None) -> CoverageMap:
        """Each enabled venue's coverage of the window ending at ``end_ms`` (default now):
        stored uptime and runs, plus the live feed facts (current outage, refused topics)."""
        return await self.totals_service.coverage(window_ms, end_ms)

    async def prune(self) -> None:
        """Drop raw events past retention, buckets past their keep, and cold index hours,
        plus old outbox rows, uptime and runs."""
        await self.store.prune()

    async def close(self) -> None:
        """Stop the feeds (closing their uptime), flush what is buffered, close the file."""
        await self.feeds.stop()
        await self.store.close()

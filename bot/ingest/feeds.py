"""The venue feeds of one process, started and stopped together.

Per enabled venue: its adapter, its live health, the websocket runner and (where the
venue has reference data) the REST reference-data poller that refreshes the runner.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

import aiohttp

from bot.config import FeedConfig
from bot.ingest.feed import FeedRunner, Sink
from bot.ingest.health import SourceHealth
from bot.ingest.refdata import RefDataPoller
from bot.ingest.uptime import UptimeRecorder
from bot.venues import make_source
from bot.venues.base import VenueSource


@dataclass
class Feeds:
    """Adapters and health of the enabled venues, and the tasks that run their feeds."""

    config: FeedConfig
    sources: dict[str, VenueSource]
    health: dict[str, SourceHealth]
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @classmethod
    def build(cls, config: FeedConfig, started_ms: int) -> Feeds:
        """One adapter per enabled venue, each healthy-unknown since ``started_ms`` (the
        start of this process's run)."""
        sources = {name: make_source(name, config) for name in config.venues}
        health = {
            name: SourceHealth(name, started_ms=started_ms, data_only=src.heartbeat.data_only)
            for name, src in sources.items()
        }
        return cls(config, sources, health)

    def known_coins(self) -> frozenset[str]:
        """Every coin some enabled venue lists."""
        return frozenset(c for source in self.sources.values() for c in source.coins())

    def start(self, session: aiohttp.ClientSession, sink: Sink, uptime: UptimeRecorder) -> None:
        """Start, per venue, the websocket runner (events to ``sink``, connected time to
        ``uptime``) and the reference-data poller."""
        for name, source in self.sources.items():
            runner = FeedRunner(source, session, sink, self.health[name], uptime)
            poller = RefDataPoller(
                source, session, self.config.rest_url(name), on_change=runner.refresh
            )
            self._tasks.append(asyncio.create_task(runner.run(), name=f"feed-{name}"))
            if source.rest_paths():
                self._tasks.append(asyncio.create_task(poller.run(), name=f"refdata-{name}"))

    async def stop(self) -> None:
        """Cancel every feed task and wait for it (the runners close their uptime)."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

"""One funding / open-interest poll of every configured venue (a JobQueue job runs it).

Each venue is polled concurrently and independently: a venue that times out, answers an
HTTP error or garbage is counted in its health, logged once per failure streak and tried
again next cycle, while the others are stored. What each venue requests is its own poll
plan (``VenueInfo.market``, a ``bot.venues.poll.MarketSource``), built once per enabled
venue and awaited each cycle. HTTP 429/418 pauses the venue for its ``Retry-After`` (at
least a minute).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field

import aiohttp

from bot.clock import now_ms
from bot.config import MarketConfig
from bot.domain import HOUR_MS, MarketSnapshot
from bot.ingest.feed import describe
from bot.market.fetch import EXPECTED, RestGetter
from bot.market.state import MarketState
from bot.venues.base import VenueInfo
from bot.venues.poll import MarketSource, PollContext, PollOptions, PollOutcome, RateLimited
from bot.venues.registry import venue_info
from bot.venues.symbols import CoinCache
from storage.db import DbThread
from storage.market import write_market

log = logging.getLogger(__name__)


@dataclass(slots=True)
class VenueHealth:
    """Per-venue poll health for /status."""

    last_ok_ms: int | None = None  # last cycle that delivered data
    failures: int = 0  # cycles with any failed request, since start
    streak: int = 0  # consecutive such cycles
    last_error: str | None = None
    symbols: int = 0  # snapshots delivered by the last cycle with data
    rejects: int = 0  # malformed items skipped in the last cycle
    paused_until_ms: int | None = None  # rate limited until then


@dataclass(slots=True)
class PollStats:
    """What one ``poll_once`` did."""

    ts_ms: int
    snapshots: dict[str, int] = field(default_factory=dict)  # per venue that delivered
    failed: list[str] = field(default_factory=list)  # venues with an error this cycle
    rejects: int = 0
    oi_requests: int = 0
    coins: int = 0
    stored: bool = False
    wall_ms: float = 0.0
    skipped: bool = False  # the previous cycle was still running


class MarketPoller:
    """Polls funding, mark prices and open interest; feeds ``state`` and storage."""

    def __init__(
        self,
        config: MarketConfig,
        session: aiohttp.ClientSession,
        state: MarketState,
        dbt: DbThread | None,
        *,
        focus_coins: Callable[[], Iterable[str]] = tuple,
        clock: Callable[[], int] = now_ms,
        request_timeout_s: float = 10.0,
        oi_per_cycle: int = 40,
        oi_symbols_max: int = 120,
        top_oi_coins: int = 30,
        oi_weight_per_min: float = 240.0,
        refdata_interval_ms: int = HOUR_MS,
        venues: Callable[[str], VenueInfo] = venue_info,
    ) -> None:
        """``venues`` looks up each enabled venue's ``VenueInfo`` (the registry; tests
        pass their own to poll a venue the registry does not list)."""
        self.config = config
        self.state = state
        self.health: dict[str, VenueHealth] = {v: VenueHealth() for v in config.venues}
        self._dbt = dbt
        self._focus = focus_coins
        self._clock = clock
        self._http = RestGetter(config.rest_url, session, request_timeout_s)
        self.top_oi_coins = top_oi_coins
        self._busy = False
        options = PollOptions(
            funding_poll_s=config.funding_poll_s,
            refdata_ms=refdata_interval_ms,
            oi_per_cycle=oi_per_cycle,
            oi_symbols_max=oi_symbols_max,
            oi_weight_per_min=oi_weight_per_min,
        )
        self.sources: dict[str, MarketSource] = {
            v: venues(v).market(self._context(v, options)) for v in config.venues
        }

    def _context(self, venue: str, options: PollOptions) -> PollContext:
        http = self._http

        async def get(path: str) -> str:
            return await http.get(venue, path)

        return PollContext(
            get=get,
            header=lambda name: http.header(venue, name),
            expected=EXPECTED,
            describe=describe,
            focus_coins=self._focus_coins,
            coins=CoinCache(),
            options=options,
        )

    def snapshot(self) -> dict[str, dict[str, object]]:
        """Health per venue as plain values (for /status)."""
        return {venue: asdict(h) for venue, h in self.health.items()}

    async def poll_once(self) -> PollStats:
        """One cycle over every venue; stores what arrived; never raises."""
        started = time.perf_counter()
        ts = self._clock()
        stats = PollStats(ts_ms=ts)
        if self._busy:  # a slow cycle overlapping the next tick: never two at once
            stats.skipped = True
            return stats
        self._busy = True
        try:
            await self._cycle(ts, stats)
        finally:
            self._busy = False
        stats.wall_ms = (time.perf_counter() - started) * 1000
        return stats

    async def _cycle(self, ts: int, stats: PollStats) -> None:
        venues = list(self.health)
        outcomes = await asyncio.gather(*(self._poll_venue(v, ts) for v in venues))
        snapshots: list[MarketSnapshot] = []
        for venue, out in zip(venues, outcomes, strict=True):
            self._account(venue, ts, out)
            stats.rejects += out.rejects
            stats.oi_requests += out.oi_requests
            if out.errors:
                stats.failed.append(venue)
            if out.snapshots:
                stats.snapshots[venue] = len(out.snapshots)
                snapshots.extend(out.snapshots)
        if snapshots:
            self.state.apply(snapshots)
            coins = self.state.coins(ts)
            stats.coins = len(coins)
            if self._dbt is not None:
                try:
                    await self._dbt.run(write_market, ts, snapshots, coins)
                    stats.stored = True
                except Exception as exc:  # storage trouble must not stop the job
                    log.warning("market: storing the poll failed: %s", describe(exc))

    async def _poll_venue(self, venue: str, ts: int) -> PollOutcome:
        out = PollOutcome()
        h = self.health[venue]
        if h.paused_until_ms is not None and ts < h.paused_until_ms:
            out.errors.append(f"rate limited: paused for {(h.paused_until_ms - ts) // 1000} s")
            return out
        h.paused_until_ms = None
        try:
            await self.sources[venue].poll(ts, out)
        except RateLimited as exc:
            h.paused_until_ms = ts + int(exc.retry_after_s * 1000)
            out.snapshots.clear()
            out.errors.append(str(exc))
        except EXPECTED as exc:
            out.snapshots.clear()
            out.errors.append(describe(exc))
        except Exception as exc:  # a bug must cost one venue one cycle, not the job
            log.exception("market: %s poll crashed", venue)
            out.snapshots.clear()
            out.errors.append(f"internal error: {type(exc).__name__}")
        return out

    def _account(self, venue: str, ts: int, out: PollOutcome) -> None:
        h = self.health[venue]
        h.rejects = out.rejects
        if out.snapshots:
            h.last_ok_ms = ts
            h.symbols = len(out.snapshots)
        if out.errors:
            h.failures += 1
            h.streak += 1
            h.last_error = "; ".join(out.errors)[:300]
            if h.streak == 1:
                log.warning(
                    "market: %s poll failed: %s (retrying each cycle)", venue, h.last_error
                )
        elif h.streak:
            log.info("market: %s poll recovered after %d failed cycle(s)", venue, h.streak)
            h.streak = 0

    def _focus_coins(self, ts: int) -> list[str]:
        """The caller's focus coins, then the coins with the most open interest."""
        try:
            focus = [str(c) for c in self._focus()]
        except Exception as exc:
            log.warning("market: focus_coins failed: %s", describe(exc))
            focus = []
        return focus + [m.coin for m in self.state.coins(ts)[: self.top_oi_coins] if m.oi_usd]

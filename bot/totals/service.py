"""``TotalsService``: the one totals query (totals, coverage, market context, minute series).

Alerts, /liq, /top, /status, the console summary and the ``liqwatch totals`` CLI all ask
here, so "what a window holds" is composed once. The hot path (rule evaluation, the
summary line) calls the synchronous :meth:`TotalsService.totals`; everything a reader sees
goes through :meth:`TotalsService.query`, which attaches what the caller asks for.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, replace
from typing import Protocol

from bot import clock
from bot.market.context import MarketContext
from bot.market.lookup import MarketHistory, window_context
from bot.totals.coverage import VenueCoverage
from bot.totals.index import TotalsIndex
from bot.totals.result import MinuteSeries, Totals, window_bounds

log = logging.getLogger(__name__)

CoverageMap = Mapping[str, VenueCoverage]
CoverageProvider = Callable[[int, int], CoverageMap | Awaitable[CoverageMap]]
"""``coverage(window_ms, end_ms)``: each enabled venue's coverage of the window of
``window_ms`` ending at ``end_ms`` (rounded up to the minute like the totals). Sync or
async."""

# How far back a coin must have had a liquidation to count as known (7 days).
KNOWN_COIN_WINDOW_MS = 7 * 24 * 3_600_000


def no_coverage(window_ms: int, end_ms: int) -> CoverageMap:
    """A provider for when uptime is not recorded: no venue coverage at all."""
    return {}


class LiveFeed(Protocol):
    """What coverage needs from a feed's live health (``ingest.health.SourceHealth``)."""

    @property
    def dropped_topics(self) -> Collection[str]:
        """Topics the venue refused."""
        ...

    def outage_ms(self, now_ms: int) -> int | None:
        """Since when the feed is down (None: up)."""
        ...


@dataclass(frozen=True, slots=True)
class TotalsReport:
    """One window's answer: ``totals`` (with ``coverage`` attached to it), the market
    around it (None: not asked, not polled, or nothing liquidated) and, when asked, the
    per-minute series."""

    totals: Totals
    market: MarketContext | None = None
    series: MinuteSeries | None = None

    @property
    def coverage(self) -> CoverageMap:
        """Each enabled venue's coverage of the window (empty: not recorded)."""
        return self.totals.coverage


class TotalsService:
    """Totals of the enabled venues from the warm index, with their coverage and context.

    ``coverage`` backs the coverage entries (stored uptime plus live feed facts, see
    :func:`live_coverage`); ``market`` the market context; ``known_coins`` the coins the
    venues list in their reference data.
    """

    def __init__(
        self,
        index: TotalsIndex,
        venues: Sequence[str],
        *,
        coverage: CoverageProvider = no_coverage,
        market: MarketHistory | None = None,
        known_coins: Callable[[], AbstractSet[str]] = frozenset,
        now_ms: Callable[[], int] = clock.now_ms,
    ) -> None:
        self.index = index
        self.venues = tuple(venues)
        self._coverage = coverage
        self.market = market
        self._known_coins = known_coins
        self.now_ms = now_ms

    def totals(self, window_ms: int, coin: str | None = None, end_ms: int | None = None) -> Totals:
        """Totals of the window ending at ``end_ms`` (default now), no coverage attached."""
        end = self.now_ms() if end_ms is None else end_ms
        return self.index.query(window_ms, end, coin, venues=self.venues)

    async def coverage(self, window_ms: int, end_ms: int | None = None) -> CoverageMap:
        """Each enabled venue's coverage of the window ending at ``end_ms`` (default now)."""
        result = self._coverage(window_ms, self.now_ms() if end_ms is None else end_ms)
        return await result if inspect.isawaitable(result) else result

    async def query(
        self,
        window_ms: int,
        coin: str | None = None,
        end_ms: int | None = None,
        *,
        with_coverage: bool = True,
        with_market: bool = False,
        with_series: bool = False,
        lenient: bool = False,
    ) -> TotalsReport:
        """The window's totals with its coverage (unless ``with_coverage`` is False), and
        on request its market context and minute series.

        ``lenient`` (alerts): a failing coverage or market lookup is logged and left out
        (an alert without its coverage note beats no alert); otherwise it propagates.
        """
        end = self.now_ms() if end_ms is None else end_ms
        totals = self.index.query(window_ms, end, coin, venues=self.venues)
        return await self.complete(
            totals,
            coin,
            end,
            with_coverage=with_coverage,
            with_market=with_market,
            with_series=with_series,
            lenient=lenient,
            asked_end_ms=end,
        )

    async def complete(
        self,
        totals: Totals,
        coin: str | None,
        now_ms: int,
        *,
        with_coverage: bool = True,
        with_market: bool = False,
        with_series: bool = False,
        lenient: bool = False,
        asked_end_ms: int | None = None,
    ) -> TotalsReport:
        """Attach coverage, market context and series to totals already queried (the alert
        engine reuses the ones its evaluation computed); ``now_ms`` is the query time and
        ``asked_end_ms`` the end the totals were asked for (default their rounded end)."""
        window_ms = totals.end_ms - totals.start_ms
        end = totals.end_ms if asked_end_ms is None else asked_end_ms
        if with_coverage:
            try:
                totals = replace(totals, coverage=await self.coverage(window_ms, end))
            except Exception:
                if not lenient:
                    raise
                log.exception("coverage for the %s totals failed", totals.window)
        context = None
        if with_market and self.market is not None:
            try:
                context = await window_context(self.market, totals, now_ms, coin)
            except Exception:
                if not lenient:
                    raise
                log.exception("market context for the %s totals failed", totals.window)
        series = None
        if with_series:
            series = self.index.minute_series(window_ms, totals.end_ms, coin, self.venues)
        return TotalsReport(totals, context, series)

    def coin_known(self, coin: str, now_ms: int | None = None) -> bool:
        """True if a venue lists ``coin`` or it had a liquidation in the last 7 days."""
        if coin in self._known_coins():
            return True
        end = self.now_ms() if now_ms is None else now_ms
        return self.index.query(KNOWN_COIN_WINDOW_MS, end, coin).count > 0


def live_coverage(
    stored: Callable[[int, int, int], Awaitable[CoverageMap]],
    health: Mapping[str, LiveFeed],
    now_ms: Callable[[], int] = clock.now_ms,
) -> CoverageProvider:
    """A coverage provider: ``stored(start_ms, end_ms, now_ms)`` (the uptime and runs in
    the database) plus each feed's live facts (a current outage, refused topics)."""

    async def coverage(window_ms: int, end_ms: int) -> CoverageMap:
        now = now_ms()
        start, end = window_bounds(window_ms, end_ms)
        found = await stored(start, end, now)
        return {
            venue: cov
            if (feed := health.get(venue)) is None
            else cov.with_health(feed.outage_ms(now), len(feed.dropped_topics))
            for venue, cov in found.items()
        }

    return coverage

"""What the command handlers need from the running application, passed in explicitly."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any

from bot import clock
from bot.chats import ChatService
from bot.config import Settings
from bot.ingest.health import SourceHealth
from bot.market.state import MarketState
from bot.totals.coverage import VenueCoverage
from bot.totals.index import TotalsIndex

CoverageMap = Mapping[str, VenueCoverage]
CoverageProvider = Callable[[int, int], CoverageMap | Awaitable[CoverageMap]]
"""``coverage(window_ms, end_ms)``: each enabled venue's coverage of the window of
``window_ms`` ending at ``end_ms`` (the query time: like the totals, the window ends at it
rounded up to the minute). Sync or async; the app backs it with the stored uptime."""


def no_coverage(window_ms: int, end_ms: int) -> CoverageMap:
    """A provider for when uptime is not recorded: no venue coverage at all."""
    return {}


@dataclass(frozen=True, slots=True)
class HandlerDeps:
    """The services behind the commands: chats, the warm totals index, feed health."""

    chats: ChatService
    index: TotalsIndex
    health: Mapping[str, SourceHealth]
    settings: Settings
    coverage: CoverageProvider = no_coverage
    now_ms: Callable[[], int] = field(default=clock.now_ms)
    # Coins the venues list in their reference data (Bybit symbols, OKX contracts): a coin
    # may be watched before its first liquidation.
    known_coins: Callable[[], AbstractSet[str]] = field(default=frozenset)
    # Per venue, the funding / open-interest poller's health (MarketPoller.snapshot).
    market_health: Callable[[], Mapping[str, Mapping[str, Any]]] | None = None
    # Funding, open interest and mark prices from the market poller (None: not polled;
    # /funding and /oi say so and /liq has no market context).
    market: MarketState | None = None

    async def coverage_of(self, window_ms: int, end_ms: int) -> CoverageMap:
        """Coverage of the window of ``window_ms`` ending at ``end_ms`` (any provider kind)."""
        result = self.coverage(window_ms, end_ms)
        if inspect.isawaitable(result):
            return await result
        return result

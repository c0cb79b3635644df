"""What the command handlers use from the running application: three services and a clock."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot import clock
from bot.chats import ChatService
from bot.ingest.health import SourceHealth
from bot.market.state import MarketState
from bot.totals.service import CoverageProvider, TotalsService, no_coverage

__all__ = ["CoverageProvider", "HandlerDeps", "HealthView", "no_coverage"]


@dataclass(frozen=True, slots=True)
class HealthView:
    """What /status reads: each feed's live health, and the market poller's per venue
    (``polls`` None: not polled)."""

    feeds: Mapping[str, SourceHealth] = field(default_factory=dict)
    polls: Callable[[], Mapping[str, Mapping[str, Any]]] | None = None


@dataclass(frozen=True, slots=True)
class HandlerDeps:
    """The services behind the commands.

    ``chats`` owns every chat setting; ``totals`` answers /liq, /top and /status (totals,
    coverage, market context, known coins); ``health`` is the feeds' and polls' state;
    ``market`` the funding, open interest and prices (None: not polled, /funding and /oi
    say so); ``now_ms`` the clock every request reads once.
    """

    chats: ChatService
    totals: TotalsService
    health: HealthView = field(default_factory=HealthView)
    market: MarketState | None = None
    now_ms: Callable[[], int] = field(default=clock.now_ms)

"""The market-poll contract between the generic poller and a venue's poll plan.

A venue declares a ``MarketSource`` factory in its ``VenueInfo``; the poller
(``bot.market.poller``) builds one per enabled venue with a ``PollContext`` (its REST
getter, the focus coins, the options) and awaits ``poll`` once per cycle, the way the
``FeedRunner`` drives ``plans()`` and ``parse()``. The source keeps its own state between
cycles (reference data, schedules, rotations) and reports into a ``PollOutcome``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.domain import HOUR_MS, MarketSnapshot
from bot.venues.symbols import CoinCache
from bot.venues.wire import Parsed

log = logging.getLogger(__name__)


class VenueFailure(Exception):
    """A request of a venue's cycle failed (the message is one log line)."""


class RateLimited(VenueFailure):
    """The venue answered 429/418; ``retry_after_s`` is how long to leave it alone."""

    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


def require(path: str, parsed: Parsed[Any]) -> None:
    """Raise ``VenueFailure`` unless ``parsed`` is a usable body with at least one item."""
    if parsed.error is not None:
        raise VenueFailure(f"{path}: {parsed.error}")
    if not parsed.items:
        raise VenueFailure(f"{path}: no usable rows")


@dataclass(slots=True)
class PollOutcome:
    """What one venue's cycle delivered: snapshots, the errors (one line each), rejects."""

    snapshots: list[MarketSnapshot] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    rejects: int = 0
    oi_requests: int = 0

    def note(self, what: str, parsed: Parsed[Any]) -> None:
        """Count ``parsed``'s rejected items (and log a sample at debug level)."""
        self.rejects += parsed.rejects
        if parsed.rejects:
            log.debug("%s: %d item(s) rejected: %s", what, parsed.rejects, parsed.sample)


@dataclass(frozen=True)
class PollOptions:
    """Poll settings shared by every venue (venues use the ones that apply to them).

    ``oi_*`` bound per-symbol open-interest requests (venues without an all-symbols
    answer); ``refdata_ms`` is how often reference data is read again.
    """

    funding_poll_s: float = 60.0
    refdata_ms: int = HOUR_MS
    oi_per_cycle: int = 40
    oi_symbols_max: int = 120
    oi_weight_per_min: float = 240.0


@dataclass(frozen=True)
class PollContext:
    """What the poller lends one venue's ``MarketSource``.

    ``get`` fetches a path of the venue's REST base URL (raising ``RateLimited``,
    ``VenueFailure`` or one of ``expected``); ``header`` reads a header of the venue's
    last answer (empty when absent); ``describe`` words an expected error in one line;
    ``focus_coins`` are the coins worth per-symbol requests at a time.
    """

    get: Callable[[str], Awaitable[str]]
    header: Callable[[str], str]
    expected: tuple[type[BaseException], ...]
    describe: Callable[[BaseException], str]
    focus_coins: Callable[[int], list[str]]
    coins: CoinCache
    options: PollOptions


class MarketSource(Protocol):
    """One venue's poll plan: funding, mark prices and open interest, each cycle."""

    async def poll(self, ts: int, out: PollOutcome) -> None:
        """Request and parse one cycle into ``out``; raise ``RateLimited`` to pause the
        venue, or any ``expected`` error to fail the cycle (the poller counts it)."""
        ...

"""Binance's market poll plan (run each cycle by the generic ``bot.market.poller``).

``premiumIndex`` (all symbols) every cycle; ``fundingInfo`` hourly (intervals and caps),
and again (at most every 5 minutes) when the funding schedules look ahead of it; each
symbol's interval follows its ``nextFundingTime`` steps (``bot.venues.intervals``);
``openInterest`` per symbol only for the focus coins, a bounded number per cycle, the
oldest readings first, so request weight stays a few percent of the 2,400/min limit (and
none while Binance reports half of it used).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Final

from bot.domain import MarketSnapshot
from bot.venues.binance import market as binance
from bot.venues.binance.oi_focus import OpenInterestBook
from bot.venues.intervals import Caps, IntervalTracker
from bot.venues.poll import PollContext, PollOutcome, RateLimited, require

log = logging.getLogger(__name__)

WEIGHT_LIMIT: Final = 2400  # Binance USD-M REQUEST_WEIGHT per minute and IP
WEIGHT_HEADER: Final = "X-MBX-USED-WEIGHT-1M"


class BinanceMarket:
    """Funding, mark prices and open interest of Binance USD-M, with their state."""

    def __init__(self, ctx: PollContext) -> None:
        self._ctx = ctx
        opts = ctx.options
        # Never more OI requests per minute than the weight budget, whatever the interval.
        budget = int(opts.oi_weight_per_min * opts.funding_poll_s / 60.0)
        max_age_ms = int(opts.funding_poll_s * 1000 * 5)
        per_cycle = max(1, min(opts.oi_per_cycle, budget))
        self.oi = OpenInterestBook(per_cycle, opts.oi_symbols_max, max_age_ms)
        self._oi_budget_s = max(1.0, min(20.0, opts.funding_poll_s / 2))
        self._intervals: dict[str, float] | None = None
        self._caps: Caps = {}
        self._intervals_ms = 0
        self._schedule = IntervalTracker()

    def weight(self) -> int:
        """Request weight Binance reported used in its last answer (0 when unknown)."""
        used = self._ctx.header(WEIGHT_HEADER)
        return int(used) if used.isdigit() else 0

    async def poll(self, ts: int, out: PollOutcome) -> None:
        """One cycle: reference data when due, premiumIndex, open interest of the focus."""
        read_ms = self._intervals_ms
        due = ts - read_ms >= self._ctx.options.refdata_ms or self._schedule.recheck_due(
            ts, read_ms
        )
        if self._intervals is None or due:
            await self._funding_info(ts, out)
        path = binance.PREMIUM_INDEX_PATH
        parsed = binance.parse_premium_index(
            await self._ctx.get(path), ts, self._intervals, self._ctx.coins
        )
        out.note(path, parsed)
        require(path, parsed)
        self._schedule.follow(parsed.items.values(), ts, self._caps)
        await self._open_interest(parsed.items, ts, out)
        self.oi.apply(parsed.items, ts)
        out.snapshots.extend(parsed.items.values())

    async def _funding_info(self, ts: int, out: PollOutcome) -> None:
        path = binance.FUNDING_INFO_PATH
        try:
            body = await self._ctx.get(path)
        except RateLimited:
            raise
        except self._ctx.expected as exc:
            out.errors.append(self._ctx.describe(exc))
            return
        parsed = binance.parse_funding_info(body)
        out.note(path, parsed)
        if parsed.error is not None:
            out.errors.append(f"{path}: {parsed.error}")
            return
        # An empty list is a valid answer: no symbol adjusted, all settle every 8 h.
        self._intervals = parsed.items
        self._caps = binance.parse_funding_caps(body).items
        self._intervals_ms = ts
        self._schedule.reference_read()

    async def _open_interest(
        self, snaps: dict[str, MarketSnapshot], ts: int, out: PollOutcome
    ) -> None:
        ctx = self._ctx
        targets = self.oi.targets(snaps, ctx.focus_coins(ts), ctx.coins)
        if not targets:
            return
        if self.weight() > WEIGHT_LIMIT // 2:
            log.debug("market: binance weight %d used: no open interest now", self.weight())
            return
        gate = asyncio.Semaphore(4)
        errors: list[str] = []
        limited: list[RateLimited] = []

        async def one(symbol: str) -> None:
            path = binance.open_interest_path(symbol)
            async with gate:
                if limited:
                    return
                try:
                    parsed = binance.parse_open_interest(await ctx.get(path))
                except RateLimited as exc:
                    limited.append(exc)
                    return
                except ctx.expected as exc:
                    errors.append(ctx.describe(exc))
                    return
            out.note(path, parsed)
            value = parsed.items.get(symbol)
            if parsed.error is not None:
                errors.append(f"{path}: {parsed.error}")
            elif value is not None or parsed.rejects == 0:  # None: open interest 0
                self.oi.record(symbol, value, ts)

        out.oi_requests += len(targets)
        try:
            async with asyncio.timeout(self._oi_budget_s):
                await asyncio.gather(*(one(s) for s in targets))
        except TimeoutError:
            errors.append(f"open interest: not done in {self._oi_budget_s:.0f} s")
        if limited:
            raise limited[0]
        if errors:
            out.errors.append(
                f"open interest: {len(errors)} of {len(targets)} failed ({errors[0]})"
            )

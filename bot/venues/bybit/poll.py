"""Bybit's market poll plan (run each cycle by the generic ``bot.market.poller``).

``tickers`` every cycle; ``instruments-info`` hourly, only while some ticker has no
``fundingIntervalHour`` (those follow their ``nextFundingTime`` steps too).
"""

from __future__ import annotations

from typing import Final

from bot.venues.bybit import market as bybit
from bot.venues.intervals import IntervalTracker
from bot.venues.poll import PollContext, PollOutcome, RateLimited, VenueFailure, require

MAX_PAGES: Final = 5  # instruments: ~600 linear symbols fit one 1,000-row page


class BybitMarket:
    """Funding, mark prices and open interest of Bybit linear perpetuals, with their state."""

    def __init__(self, ctx: PollContext) -> None:
        self._ctx = ctx
        self._intervals: dict[str, float] | None = None
        self._intervals_ms = 0
        self._schedule = IntervalTracker()

    async def poll(self, ts: int, out: PollOutcome) -> None:
        """One cycle: tickers, and instruments-info when some interval is missing."""
        path = bybit.TICKERS_PATH
        body = await self._ctx.get(path)
        parsed = bybit.parse_tickers(body, ts, None, self._ctx.coins)
        out.note(path, parsed)
        require(path, parsed)
        # Tickers without fundingIntervalHour: instruments-info, then their schedule's steps.
        bare = [s for s in parsed.items.values() if s.funding_interval_h is None]
        read_ms = self._intervals_ms
        due = ts - read_ms >= self._ctx.options.refdata_ms or self._schedule.recheck_due(
            ts, read_ms
        )
        if bare and (self._intervals is None or due):
            await self._instruments(ts, out)
        intervals = self._intervals or {}
        for snap in bare:
            snap.funding_interval_h = intervals.get(snap.symbol)
        self._schedule.follow(bare, ts)
        out.snapshots.extend(parsed.items.values())

    async def _instruments(self, ts: int, out: PollOutcome) -> None:
        intervals: dict[str, float] = {}
        path = bybit.INSTRUMENTS_PATH
        try:
            for _ in range(MAX_PAGES):
                parsed = bybit.parse_instruments(await self._ctx.get(path))
                out.note(bybit.INSTRUMENTS_PATH, parsed)
                if parsed.error is not None:
                    raise VenueFailure(f"instruments-info: {parsed.error}")
                intervals.update(parsed.items)
                if parsed.cursor is None:
                    break
                path = f"{bybit.INSTRUMENTS_PATH}&cursor={parsed.cursor}"
        except RateLimited:
            raise
        except self._ctx.expected as exc:
            out.errors.append(self._ctx.describe(exc))
            return
        self._intervals = intervals
        self._intervals_ms = ts
        self._schedule.reference_read()

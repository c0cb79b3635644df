"""OKX's market poll plan (run each cycle by the generic ``bot.market.poller``).

``funding-rate?instId=ANY`` and ``open-interest`` (both needed), ``mark-price`` (optional:
its failure is an error of the cycle, the other figures are kept).
"""

from __future__ import annotations

import asyncio

from bot.venues.okx import market as okx
from bot.venues.poll import PollContext, PollOutcome, RateLimited, require


class OkxMarket:
    """Funding, mark prices and open interest of OKX perpetual swaps (no state)."""

    def __init__(self, ctx: PollContext) -> None:
        self._ctx = ctx

    async def poll(self, ts: int, out: PollOutcome) -> None:
        """One cycle: the three all-instrument requests at once."""
        get = self._ctx.get
        funding_body, oi_body, mark_body = await asyncio.gather(
            get(okx.FUNDING_PATH),
            get(okx.OPEN_INTEREST_PATH),
            get(okx.MARK_PRICE_PATH),
            return_exceptions=True,
        )
        for body in (funding_body, oi_body):
            if isinstance(body, BaseException):
                raise body
        assert isinstance(funding_body, str) and isinstance(oi_body, str)
        funding = okx.parse_funding_rates(funding_body)
        out.note(okx.FUNDING_PATH, funding)
        require(okx.FUNDING_PATH, funding)
        oi = okx.parse_open_interest(oi_body)
        out.note(okx.OPEN_INTEREST_PATH, oi)
        require(okx.OPEN_INTEREST_PATH, oi)
        marks: dict[str, float] = {}
        if isinstance(mark_body, RateLimited):
            raise mark_body
        if isinstance(mark_body, BaseException):
            out.errors.append(f"mark prices: {self._ctx.describe(mark_body)}")
        else:
            parsed_marks = okx.parse_mark_prices(mark_body)
            out.note(okx.MARK_PRICE_PATH, parsed_marks)
            if parsed_marks.error is not None:
                out.errors.append(f"{okx.MARK_PRICE_PATH}: {parsed_marks.error}")
            marks = parsed_marks.items
        out.snapshots.extend(
            okx.okx_snapshots(ts, funding.items, oi.items, marks, self._ctx.coins)
        )

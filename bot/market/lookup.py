"""Fetching the market figures around a window: the I/O edge of ``bot.market.context``.

``MarketState`` (bot/market/state.py) satisfies these protocols; tests and the alert engine
only need what is listed here.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol

from bot.domain import CoinMarket
from bot.market.context import CoinMove, MarketContext, build_context, dominant_coins
from bot.totals.result import Totals

log = logging.getLogger(__name__)


class LiveMarket(Protocol):
    """The latest polls: one ``CoinMarket`` per coin with fresh figures."""

    # Figures older than this are stale (about three poll intervals).
    stale_after_ms: int

    def coins(self, now_ms: int | None = None) -> list[CoinMarket]:
        """Every coin with fresh figures at ``now_ms`` (default: now)."""
        ...


class MarketHistory(LiveMarket, Protocol):
    """The latest poll per coin, and stored ones back in time."""

    def coin(self, coin: str, now_ms: int | None = None) -> CoinMarket | None:
        """The coin's fresh figures, or None when unknown or stale everywhere."""
        ...

    async def coin_since(self, coin: str, start_ms: int, end_ms: int) -> CoinMarket | None:
        """The coin's stored figures just before ``start_ms``, else at the first poll
        inside ``[start_ms, end_ms)``; None when there are none."""
        ...


async def coin_moves(
    market: MarketHistory, coins: Sequence[str], start_ms: int, now_ms: int
) -> list[CoinMove]:
    """Each coin's figures just before ``start_ms`` (else the first inside the window)
    and at ``now_ms``; a failed lookup counts as missing data (an alert says so rather
    than not going out)."""
    moves = []
    for coin in coins:
        try:
            now = market.coin(coin, now_ms)
            before = await market.coin_since(coin, start_ms, now_ms)
        except Exception:
            log.exception("market figures of %s around %d failed", coin, start_ms)
            now = before = None
        moves.append(CoinMove(coin, before, now))
    return moves


async def window_context(
    market: MarketHistory,
    totals: Totals,
    now_ms: int,
    coin: str | None = None,
) -> MarketContext | None:
    """The market context of the window of ``totals`` (``coin``'s own when given);
    None when nothing was liquidated in it (no coin dominated)."""
    coins = dominant_coins(totals, coin)
    if not coins or totals.total_usd <= 0:
        return None
    moves = await coin_moves(market, coins, totals.start_ms, now_ms)
    return build_context(totals, moves, now_ms, market.stale_after_ms)

"""How market records compare between two polls: open-interest and price changes.

The records themselves (``MarketSnapshot``, ``CoinMarket``, ``coin_market``) live in
``bot.domain``, where storage can use them too.

Rates are decimal fractions per funding interval, exactly as each venue publishes them
(0.0001 = 0.01 %). Intervals differ per symbol and change at runtime, so every rate
travels with its interval; ``rate_8h`` and ``apr`` normalise for comparison:
rate_8h = rate × 8 / interval_h, APR = rate × (24 / interval_h) × 365.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain import CoinMarket, MarketSnapshot


def _common(before: CoinMarket, now: CoinMarket) -> list[tuple[MarketSnapshot, MarketSnapshot]]:
    earlier = {(s.venue, s.symbol): s for s in before.venues}
    return [
        (earlier[(s.venue, s.symbol)], s) for s in now.venues if (s.venue, s.symbol) in earlier
    ]


def oi_change(before: CoinMarket, now: CoinMarket) -> float | None:
    """Relative open-interest change (0.05 = +5 %) over the venue symbols that reported
    open interest at both times, so a venue appearing or vanishing (Binance OI is polled
    for focus coins only; a failed poll) is not mistaken for traders opening or closing."""
    old = new = 0.0
    for a, b in _common(before, now):
        if a.oi_usd is not None and b.oi_usd is not None:
            old += a.oi_usd
            new += b.oi_usd
    return new / old - 1.0 if old > 0 else None


def price_change(before: CoinMarket, now: CoinMarket) -> float | None:
    """Relative mark-price change (-0.042 = −4.2 %) over the venue symbols with a mark
    at both times."""
    old = new = 0.0
    for a, b in _common(before, now):
        ma, mb = a.coin_mark, b.coin_mark
        if ma is not None and mb is not None:
            old += ma
            new += mb
    return new / old - 1.0 if old > 0 else None


@dataclass(frozen=True, slots=True)
class CoinChange:
    """How one coin moved between two polls (``MarketState.changes``).

    ``oi_change`` and ``price_change`` are relative (−0.061 = −6.1 %), computed over the
    venue symbols present at both times (``oi_change``/``price_change`` above); None when
    no symbol had the figure at both times.
    """

    coin: str
    before: CoinMarket
    now: CoinMarket
    oi_change: float | None
    price_change: float | None

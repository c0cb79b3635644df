"""Funding and open-interest records shared by the market parsers, poller, state and bot.

Rates are decimal fractions per funding interval, exactly as each venue publishes them
(0.0001 = 0.01 %). Intervals differ per symbol and change at runtime, so every rate
travels with its interval; ``rate_8h`` and ``apr`` normalise for comparison:
rate_8h = rate × 8 / interval_h, APR = rate × (24 / interval_h) × 365.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from bot.events import VENUES

_VENUE_ORDER: Final = {v: i for i, v in enumerate(VENUES)}
# A price multiplier in front of the coin (1000PEPEUSDT, 1MBABYDOGEUSDT) or after it
# (Bybit SHIB1000USDT): that symbol's price and quantity are per 1000 (1M) coins.
_MULT_PREFIX: Final = re.compile(r"^(?:1M|10{3,})")
_MULT_SUFFIX: Final = re.compile(r"^10{3,}(?![0-9])")


@dataclass(slots=True)
class MarketSnapshot:
    """One venue symbol at one poll, in the venue's own units.

    ``funding_rate`` is per ``funding_interval_h`` hours; ``mark_price`` and ``oi_base``
    are per unit of the symbol (per 1000 coins for 1000PEPEUSDT); ``oi_usd`` is USD.
    ``predicted`` is True when the rate is a forecast for the next settlement (OKX
    ``fundingRate``) rather than the live accruing rate (Binance, Bybit).
    ``settled_rate`` is the last settled rate when the venue gives it (OKX).
    """

    venue: str
    symbol: str
    coin: str
    ts_ms: int
    funding_rate: float | None
    funding_interval_h: float | None
    next_funding_ms: int | None
    mark_price: float | None
    oi_base: float | None
    oi_usd: float | None
    predicted: bool = False
    settled_rate: float | None = None

    @property
    def rate_8h(self) -> float | None:
        """The rate as its 8 h equivalent, or None without a rate or interval."""
        if self.funding_rate is None or not self.funding_interval_h:
            return None
        return self.funding_rate * 8.0 / self.funding_interval_h

    @property
    def apr(self) -> float | None:
        """The rate annualised (simple, not compounded), or None without rate or interval."""
        if self.funding_rate is None or not self.funding_interval_h:
            return None
        return self.funding_rate * (24.0 / self.funding_interval_h) * 365.0

    @property
    def coin_mark(self) -> float | None:
        """Mark price per ONE coin (the symbol's mark divided by its multiplier)."""
        if self.mark_price is None:
            return None
        return self.mark_price / symbol_multiplier(self.symbol, self.coin)


@dataclass(frozen=True, slots=True)
class CoinMarket:
    """One coin across venues at one time (build it with ``coin_market``).

    ``oi_usd`` sums the venues that reported open interest; ``funding_8h`` is the
    8 h-equivalent funding weighted by each venue symbol's open interest (only symbols
    with both); ``mark_price`` is per one coin, OI-weighted over symbols with both, else
    the plain mean of the marks.
    """

    coin: str
    ts_ms: int
    venues: tuple[MarketSnapshot, ...]
    oi_usd: float | None
    funding_8h: float | None
    mark_price: float | None


def symbol_multiplier(symbol: str, coin: str) -> float:
    """How many coins one unit of ``symbol`` is: 1000 for 1000PEPEUSDT and SHIB1000USDT,
    1e6 for 1MBABYDOGEUSDT, 1 otherwise."""
    s = symbol.upper()
    for sep in ("-", "_"):
        s = s.split(sep, 1)[0]
    if coin and s.startswith(coin):
        m = _MULT_SUFFIX.match(s[len(coin) :])
        return float(m.group()) if m else 1.0
    m = _MULT_PREFIX.match(s)
    if m and s[m.end() :].startswith(coin):
        return 1e6 if m.group() == "1M" else float(m.group())
    return 1.0


def venue_order(snapshot: MarketSnapshot) -> tuple[int, str, str]:
    """Sort key: venues in ``VENUES`` order, then symbol."""
    return (_VENUE_ORDER.get(snapshot.venue, len(_VENUE_ORDER)), snapshot.venue, snapshot.symbol)


def coin_market(coin: str, ts_ms: int, snapshots: Iterable[MarketSnapshot]) -> CoinMarket:
    """Aggregate one coin's venue snapshots (any order) into a ``CoinMarket``."""
    venues = tuple(sorted(snapshots, key=venue_order))
    oi_total = 0.0
    with_oi = False
    w_sum = 0.0
    w_rate = 0.0
    w_mark_sum = 0.0
    w_mark = 0.0
    marks: list[float] = []
    for s in venues:
        oi = s.oi_usd
        mark = s.coin_mark
        if mark is not None:
            marks.append(mark)
        if oi is None:
            continue
        with_oi = True
        oi_total += oi
        r8 = s.rate_8h
        if r8 is not None and oi > 0:
            w_sum += oi
            w_rate += r8 * oi
        if mark is not None and oi > 0:
            w_mark_sum += oi
            w_mark += mark * oi
    if w_mark_sum > 0:
        mark_price: float | None = w_mark / w_mark_sum
    elif marks:
        mark_price = sum(marks) / len(marks)
    else:
        mark_price = None
    return CoinMarket(
        coin=coin,
        ts_ms=ts_ms,
        venues=venues,
        oi_usd=oi_total if with_oi else None,
        funding_8h=w_rate / w_sum if w_sum > 0 else None,
        mark_price=mark_price,
    )


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

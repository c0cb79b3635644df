"""The market around a liquidation window: facts per dominating coin, and ONE reading line.

For the coins that dominated a window: the price move over the window, the funding just
before it and now, and the change in open interest. When no poll is stored at the
window's start, the first one inside it is used and the figures say since when
(``OI −6.1% since 06:54 UTC``). The reading line (bot/market/reading.py) strings the leading
coin's facts together, stated as facts rather than advice, for example::

    Long squeeze: longs 84% of $343.2M; BTC −4.2% in 1h; funding was +0.031%/8h
    (crowded longs), now +0.008%/8h; open interest −6.1% (deleveraging)

"Missing" is said only when there is no usable figure. Pure: ``Totals`` and
``CoinMarket`` records in, plain text out (the renderers escape it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from bot.domain import MINUTE_MS, CoinMarket
from bot.market.reading import (
    CROWDED_LONGS,
    CROWDED_SHORTS,
    MISSING,
    NO_HISTORY,
    OI_MOVE,
    SQUEEZE_SHARE,
    CoinFacts,
    Reading,
    crowding,
    oi_reading,
    rate,
    read,
    span_text,
)
from bot.market.records import oi_change, price_change
from bot.text.market import STALE_MS, format_change
from bot.totals.result import Totals
from bot.units import format_usd

__all__ = [
    "CROWDED_LONGS",
    "CROWDED_SHORTS",
    "DOMINANT_SHARE",
    "MAX_COINS",
    "MISSING",
    "OI_MOVE",
    "SQUEEZE_SHARE",
    "CoinFacts",
    "CoinMove",
    "MarketContext",
    "build_context",
    "coin_facts",
    "crowding",
    "dominant_coins",
    "fact_line",
    "oi_reading",
    "usable",
]

# A coin with at least this share of the window's USD is one of the coins that dominated.
DOMINANT_SHARE: Final = 0.10
MAX_COINS: Final = 3


@dataclass(frozen=True, slots=True)
class CoinMove:
    """One coin's market at (or after) the window's start and now (None when unknown).

    ``before`` is the poll just before the window, or the first one inside it when none
    was stored before (a fresh install, a gap in the polls)."""

    coin: str
    before: CoinMarket | None
    now: CoinMarket | None


@dataclass(frozen=True, slots=True)
class MarketContext:
    """Facts per dominating coin and the one reading (plain text; renderers escape)."""

    window: str
    facts: tuple[CoinFacts, ...]
    reading_of: Reading
    end_ms: int = 0

    @property
    def reading(self) -> str:
        """The reading line's text (without its mark)."""
        return self.reading_of.text

    def fact_lines(self) -> list[str]:
        """One line per coin: ``BTC: price −4.2% in 1h · funding +0.031%/8h →
        +0.008%/8h · OI $8.1B (−6.1%)``."""
        return [fact_line(f, self.window, self.end_ms) for f in self.facts]


def dominant_coins(totals: Totals, coin: str | None = None, limit: int = MAX_COINS) -> list[str]:
    """The coins that dominated the window: ``coin`` itself for a coin's totals, else the
    largest coins holding at least ``DOMINANT_SHARE`` of it (always the largest one)."""
    if coin is not None:
        return [coin]
    total = totals.total_usd
    ranked = totals.top_coins(limit)
    if total <= 0 or not ranked:
        return []
    return [
        name
        for i, (name, t) in enumerate(ranked)
        if i == 0 or t.total_usd >= total * DOMINANT_SHARE
    ]


def usable(
    move: CoinMove, start_ms: int, now_ms: int, stale_ms: int = STALE_MS
) -> tuple[CoinMarket | None, CoinMarket | None]:
    """``(before, now)`` keeping only figures fit to compare: ``now`` polled within
    ``stale_ms``; ``before`` either at or before the window start, by at most a quarter
    of the window (or ``stale_ms`` for short windows), or inside the window and earlier
    than ``now`` (the first poll the window has)."""
    window_ms = max(now_ms - start_ms, MINUTE_MS)
    now = move.now if move.now is not None and now_ms - move.now.ts_ms <= stale_ms else None
    before = move.before
    if before is not None:
        if before.ts_ms <= start_ms:
            fits = start_ms - before.ts_ms <= max(stale_ms, window_ms // 4)
        else:
            fits = before.ts_ms < now_ms and (now is None or before.ts_ms < now.ts_ms)
        before = before if fits else None
    return before, now


def coin_facts(move: CoinMove, start_ms: int, now_ms: int, stale_ms: int = STALE_MS) -> CoinFacts:
    """The facts of one coin over the window ``[start_ms, now_ms]``."""
    before, now = usable(move, start_ms, now_ms, stale_ms)
    price = oi = None
    if before is not None and now is not None:
        price, oi = price_change(before, now), oi_change(before, now)
    since = before.ts_ms if before is not None and before.ts_ms > start_ms else None
    return CoinFacts(
        coin=move.coin,
        price_change=price,
        funding_before=before.funding_8h if before is not None else None,
        funding_now=now.funding_8h if now is not None else None,
        oi_change=oi,
        oi_usd=now.oi_usd if now is not None else None,
        since_ms=since,
        current=now is not None,
        earlier=before is not None,
    )


def fact_line(f: CoinFacts, window: str, end_ms: int = 0) -> str:
    """One coin's facts as one plain-text line."""
    since = span_text(window, f.since_ms, end_ms)
    parts: list[str] = []
    if f.price_change is not None:
        parts.append(f"price {format_change(f.price_change)} {since}")
    if f.funding_before is not None and f.funding_now is not None:
        text = f"funding {rate(f.funding_before)} → {rate(f.funding_now)}"
        parts.append(text if f.since_ms is None else f"{text} {since}")
    elif f.funding_now is not None:
        parts.append(f"funding now {rate(f.funding_now)}")
    elif f.funding_before is not None:
        parts.append(f"funding was {rate(f.funding_before)}")
    if f.oi_usd is not None and f.oi_change is not None:
        change = format_change(f.oi_change)
        change = change if f.since_ms is None else f"{change} {since}"
        parts.append(f"OI {format_usd(f.oi_usd)} ({change})")
    elif f.oi_usd is not None:
        parts.append(f"OI {format_usd(f.oi_usd)}")
    if f.missing:
        parts.append(f"{f.missing} missing or stale")
    if f.uncompared:
        parts.append(NO_HISTORY)
    return f"{f.coin}: {' · '.join(parts)}"


def build_context(
    totals: Totals, moves: Sequence[CoinMove], now_ms: int, stale_ms: int = STALE_MS
) -> MarketContext:
    """Facts for each coin in ``moves`` (the dominating ones, largest first) over the
    window of ``totals`` ending ``now_ms``, and the reading led by the first."""
    facts = tuple(coin_facts(m, totals.start_ms, now_ms, stale_ms) for m in moves)
    return MarketContext(
        window=totals.window,
        facts=facts,
        reading_of=read(totals, facts[0] if facts else None),
        end_ms=now_ms,
    )

"""The market around a liquidation window: facts per dominating coin, and ONE reading line.

For the coins that dominated a window: the price move over the window, the funding just
before it and now, and the change in open interest. The reading line strings those facts
together, stated as facts rather than advice, for example::

    Long squeeze: longs 84% of $343.2M; BTC −4.2% in 1h; funding was +0.031%/8h
    (crowded longs), now +0.008%/8h; open interest −6.1% (deleveraging)

When funding or open-interest figures are missing or too old it says so instead of
inventing a reading. Pure: ``Totals`` and ``CoinMarket`` records in, HTML text out.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from bot.amounts import format_pct, format_usd
from bot.events import MINUTE_MS
from bot.format_market import STALE_MS, format_change, rate_8h
from bot.market.records import CoinMarket, oi_change, price_change
from bot.totals_result import SideTotals, Totals

# A side holding more than this share of the window's USD dominated it (as the alert's
# own reading line, bot.format_alert.SQUEEZE_SHARE).
SQUEEZE_SHARE: Final = 0.75
# Funding (8 h equivalent) at or beyond these marks a crowded side; the neutral baseline
# on the big venues is +0.01 %/8h, the interest-rate component.
CROWDED_LONGS: Final = 0.0003
CROWDED_SHORTS: Final = -0.0001
# Open interest moving at least this much over the window is named.
OI_MOVE: Final = 0.01
# A coin with at least this share of the window's USD is one of the coins that dominated.
DOMINANT_SHARE: Final = 0.10
MAX_COINS: Final = 3
CONTEXT_DECIMALS: Final = 3
MISSING: Final = "funding/OI data missing or stale"


@dataclass(frozen=True, slots=True)
class CoinMove:
    """One coin's market just before the window started and now (None when unknown)."""

    coin: str
    before: CoinMarket | None
    now: CoinMarket | None


@dataclass(frozen=True, slots=True)
class CoinFacts:
    """What the figures say about one coin over the window (None: not known)."""

    coin: str
    price_change: float | None
    funding_before: float | None
    funding_now: float | None
    oi_change: float | None
    oi_usd: float | None

    @property
    def missing(self) -> str | None:
        """``funding data``, ``OI data``, ``funding/OI data`` (missing or stale), or None."""
        funding = self.funding_before is None and self.funding_now is None
        oi = self.oi_change is None
        if funding and oi:
            return "funding/OI data"
        if funding:
            return "funding data"
        if oi:
            return "OI data"
        return None


@dataclass(frozen=True, slots=True)
class MarketContext:
    """Facts per dominating coin and the one reading line (both HTML-escaped)."""

    window: str
    facts: tuple[CoinFacts, ...]
    reading: str

    def fact_lines(self) -> list[str]:
        """One line per coin: ``BTC: price −4.2% in 1h · funding +0.031%/8h →
        +0.008%/8h · OI $8.1B (−6.1%)``."""
        return [fact_line(f, self.window) for f in self.facts]


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
    ``stale_ms``; ``before`` at or before the window start, by at most a quarter of the
    window (or ``stale_ms`` for short windows)."""
    window_ms = max(now_ms - start_ms, MINUTE_MS)
    now = move.now if move.now is not None and now_ms - move.now.ts_ms <= stale_ms else None
    before = move.before
    if before is not None and not (
        before.ts_ms <= start_ms and start_ms - before.ts_ms <= max(stale_ms, window_ms // 4)
    ):
        before = None
    return before, now


def coin_facts(move: CoinMove, start_ms: int, now_ms: int, stale_ms: int = STALE_MS) -> CoinFacts:
    """The facts of one coin over the window ``[start_ms, now_ms]``."""
    before, now = usable(move, start_ms, now_ms, stale_ms)
    price = oi = None
    if before is not None and now is not None:
        price, oi = price_change(before, now), oi_change(before, now)
    return CoinFacts(
        coin=move.coin,
        price_change=price,
        funding_before=before.funding_8h if before is not None else None,
        funding_now=now.funding_8h if now is not None else None,
        oi_change=oi,
        oi_usd=now.oi_usd if now is not None else None,
    )


def _rate(rate: float) -> str:
    return rate_8h(rate, CONTEXT_DECIMALS)


def crowding(funding: float) -> str | None:
    """``crowded longs`` / ``crowded shorts`` for funding at the marks, else None."""
    if funding >= CROWDED_LONGS:
        return "crowded longs"
    if funding <= CROWDED_SHORTS:
        return "crowded shorts"
    return None


def oi_reading(change: float) -> str | None:
    """``deleveraging`` when open interest fell by ``OI_MOVE`` or more, ``positions
    added`` when it rose as much, else None."""
    if change <= -OI_MOVE:
        return "deleveraging"
    if change >= OI_MOVE:
        return "positions added"
    return None


def fact_line(f: CoinFacts, window: str) -> str:
    """One coin's facts as an HTML line."""
    parts: list[str] = []
    if f.price_change is not None:
        parts.append(f"price {format_change(f.price_change)} in {html.escape(window)}")
    if f.funding_before is not None and f.funding_now is not None:
        parts.append(f"funding {_rate(f.funding_before)} → {_rate(f.funding_now)}")
    elif f.funding_now is not None:
        parts.append(f"funding now {_rate(f.funding_now)}")
    elif f.funding_before is not None:
        parts.append(f"funding was {_rate(f.funding_before)}")
    if f.oi_usd is not None and f.oi_change is not None:
        parts.append(f"OI {format_usd(f.oi_usd)} ({format_change(f.oi_change)})")
    elif f.oi_usd is not None:
        parts.append(f"OI {format_usd(f.oi_usd)}")
    if f.missing:
        parts.append(f"{f.missing} missing or stale")
    return f"{html.escape(f.coin)}: {' · '.join(parts)}"


def side_phrase(t: SideTotals | Totals) -> str:
    """``Long squeeze: longs 84% of $343.2M`` (``Short squeeze``, or ``Two-sided: longs
    55%, shorts 45% of ...``)."""
    total = t.total_usd
    if total <= 0:
        return "No liquidations"
    longs, shorts = t.long_usd / total, t.short_usd / total
    usd = format_usd(total)
    if longs > SQUEEZE_SHARE:
        return f"Long squeeze: longs {format_pct(longs)} of {usd}"
    if shorts > SQUEEZE_SHARE:
        return f"Short squeeze: shorts {format_pct(shorts)} of {usd}"
    return f"Two-sided: longs {format_pct(longs)}, shorts {format_pct(shorts)} of {usd}"


def reading_line(totals: Totals, lead: CoinFacts | None) -> str:
    """The ONE reading line from the window's sides and its leading coin's facts."""
    parts = [side_phrase(totals)]
    if lead is None:
        return f"{parts[0]}; {MISSING}"
    window = html.escape(totals.window)
    if lead.price_change is not None:
        parts.append(f"{html.escape(lead.coin)} {format_change(lead.price_change)} in {window}")
    if lead.funding_before is not None:
        text = f"funding was {_rate(lead.funding_before)}"
        label = crowding(lead.funding_before)
        text += f" ({label})" if label else ""
        if lead.funding_now is not None:
            text += f", now {_rate(lead.funding_now)}"
        parts.append(text)
    elif lead.funding_now is not None:
        label = crowding(lead.funding_now)
        parts.append(f"funding now {_rate(lead.funding_now)}" + (f" ({label})" if label else ""))
    if lead.oi_change is not None:
        label = oi_reading(lead.oi_change)
        text = f"open interest {format_change(lead.oi_change)}"
        parts.append(text + (f" ({label})" if label else ""))
    if lead.missing:
        parts.append(f"{lead.missing} missing or stale")
    return "; ".join(parts)


def build_context(
    totals: Totals, moves: Sequence[CoinMove], now_ms: int, stale_ms: int = STALE_MS
) -> MarketContext:
    """Facts for each coin in ``moves`` (the dominating ones, largest first) over the
    window of ``totals`` ending ``now_ms``, and the reading line led by the first."""
    facts = tuple(coin_facts(m, totals.start_ms, now_ms, stale_ms) for m in moves)
    return MarketContext(
        window=totals.window,
        facts=facts,
        reading=reading_line(totals, facts[0] if facts else None),
    )

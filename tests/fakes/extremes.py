"""Hypothesis strategies for the formatters' property tests: the extremes a real cascade,
a hostile venue or a careless user can produce.

Shares of exactly 0, 0.001, 0.005, 0.995, 0.999 and 1 (the ones ``format_pct`` writes as
``<1%`` / ``>99%``); amounts from $0 to far beyond $1T; names with ``<``, ``>``, ``&``,
quotes, right-to-left marks, zero-width characters, emoji, a lone surrogate; missing,
stale and in-window market figures; many venues; long lists.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

from hypothesis import strategies as st

from bot.alerts.rules import ESCALATION, FIRST, Fire
from bot.domain import (
    HOUR_MS,
    MINUTE_MS,
    WINDOWS,
    CoinMarket,
    MarketSnapshot,
    RuleSpec,
    coin_market,
)
from bot.totals.coverage import VenueCoverage
from bot.totals.result import CoinTotals, ExchangeTotals, Largest, Totals

NOW: Final = 1_795_000_000_000 // MINUTE_MS * MINUTE_MS
EDGE_SHARES: Final = (0.0, 0.001, 0.005, 0.995, 0.999, 1.0)
EDGE_AMOUNTS: Final = (0.0, 0.4, 1.0, 999.5, 999_950.0, 1e6, 118e6, 1e9, 1e12, 1e13, 9e16)
ODD_NAMES: Final = (
    "BTC",
    "<b>",
    "</i>",
    "A<B>&C",
    "&amp;",
    "&lt;1%",
    "\"quoted'",
    "1000PEPE",
    "ÆØÅ",
    "עברית",
    "\u202eRTL\u202c",
    "\u200bzero\u200dwidth",
    "💥🚀",
    " ",
    "",
    "x" * 40,
    "lone\ud800surrogate",
)
# Every tag Telegram knows, and every entity form: none may appear in plain text.
MARKUP_RE: Final = re.compile(
    r"</?(?:b|strong|i|em|u|ins|s|strike|del|span|tg-spoiler|a|code|pre|blockquote)\b[^>]*>"
    r"|&(?:#[0-9]+|#[xX][0-9a-fA-F]+|lt|gt|amp|quot);"
)

shares = st.sampled_from(EDGE_SHARES) | st.floats(0, 1)
amounts = st.sampled_from(EDGE_AMOUNTS) | st.floats(0, 1e15)
names = st.sampled_from(ODD_NAMES) | st.text(max_size=12)
venues = st.sampled_from(("binance", "bybit", "okx")) | names
windows = st.sampled_from(tuple(WINDOWS))


def without(text: str, pieces: Sequence[str]) -> str:
    """``text`` with every occurrence of the (non-empty) dynamic ``pieces`` cut out,
    longest first, so what is left is the formatter's own wording."""
    for piece in sorted({p for p in pieces if p}, key=len, reverse=True):
        text = text.replace(piece, "")
    return text


def split(total: float, share: float) -> tuple[float, float]:
    """(long, short) USD of ``total`` with ``share`` longs."""
    long_usd = total * share
    return long_usd, total - long_usd


@st.composite
def sides(draw: st.DrawFn) -> ExchangeTotals:
    """One venue's or coin's totals, with an edge share and an edge amount."""
    long_usd, short_usd = split(draw(amounts), draw(shares))
    return ExchangeTotals(
        long_usd, short_usd, draw(st.integers(0, 10**7)), draw(st.integers(0, 10**7))
    )


@st.composite
def coverages(draw: st.DrawFn, venue: str, window_ms: int) -> VenueCoverage:
    """A venue's coverage of a window: live, down a while, or not collected."""
    down = draw(st.sampled_from((0, 45_000, 12 * MINUTE_MS, window_ms)))
    gaps = ((NOW - down, NOW),) if down else ()
    return VenueCoverage(
        venue, live=not down, complete=draw(st.booleans()), gaps=gaps, down_ms=down
    )


@st.composite
def totals(
    draw: st.DrawFn, window: str | None = None, max_venues: int = 12, max_coins: int = 60
) -> Totals:
    """A window's totals: many venues, many coins, an edge share overall."""
    window = window or draw(windows)
    span = WINDOWS[window]
    by_exchange = draw(st.dictionaries(venues, sides(), max_size=max_venues))
    by_coin = {
        c: CoinTotals(*t)
        for c, t in draw(st.dictionaries(names, sides(), max_size=max_coins)).items()
    }
    long_usd, short_usd = split(draw(amounts), draw(shares))
    largest = None
    if draw(st.booleans()):
        largest = Largest(
            draw(venues),
            draw(names),
            draw(st.sampled_from(("long", "short"))),
            draw(amounts),
            NOW - draw(st.integers(0, span)),
            draw(names),
        )
    coverage = {v: draw(coverages(v, span)) for v in by_exchange} if draw(st.booleans()) else {}
    return Totals(
        window=window,
        start_ms=NOW - span,
        end_ms=NOW,
        long_usd=long_usd,
        short_usd=short_usd,
        long_count=draw(st.integers(0, 10**7)),
        short_count=draw(st.integers(0, 10**7)),
        by_exchange=by_exchange,
        by_coin=by_coin,
        largest=largest,
        coverage=coverage,
    )


@st.composite
def rule_and_fire(draw: st.DrawFn, window: str) -> tuple[RuleSpec, Fire]:
    """A market or coin rule on ``window`` and a first fire or an escalation of it."""
    threshold = draw(st.sampled_from((1.0, 5e6, 250e6, 1e12)) | st.floats(1, 1e12))
    spec = RuleSpec(window, threshold, draw(st.none() | names))
    multiple = draw(st.sampled_from((1, 2, 4, 2**40)) | st.integers(1, 2**40))
    kind = ESCALATION if multiple > 1 and draw(st.booleans()) else FIRST
    return spec, Fire(kind, multiple, draw(amounts), threshold)


rates = st.none() | st.sampled_from((0.0, 1e-6, -0.0001, 0.0003, 0.0075, -0.03, 1.0, -1.0))
intervals = st.none() | st.sampled_from((0.0, 0.5, 1.0, 4.0, 8.0))


@st.composite
def snapshots(draw: st.DrawFn, coin: str, ts_ms: int) -> MarketSnapshot:
    """One venue symbol of ``coin`` at ``ts_ms``, any figure possibly missing or extreme."""
    mark = draw(st.none() | st.sampled_from((1e-8, 0.5, 100_000.0, 1e9)))
    oi_usd = draw(st.none() | st.sampled_from((0.0, 1.0, 991.8e6, 1e12, 5e13)))
    return MarketSnapshot(
        venue=draw(venues),
        symbol=draw(names),
        coin=coin,
        ts_ms=ts_ms,
        funding_rate=draw(rates),
        funding_interval_h=draw(intervals),
        next_funding_ms=draw(st.none() | st.integers(NOW - HOUR_MS, NOW + 9 * HOUR_MS)),
        mark_price=mark,
        oi_base=None if oi_usd is None or not mark else oi_usd / mark,
        oi_usd=oi_usd,
        predicted=draw(st.booleans()),
    )


@st.composite
def coin_markets(draw: st.DrawFn, coin: str | None = None, ts_ms: int = NOW) -> CoinMarket:
    """A coin across (up to 20) venue symbols at ``ts_ms``."""
    coin = coin if coin is not None else draw(names)
    snaps = draw(st.lists(snapshots(coin, ts_ms), max_size=20))
    return coin_market(coin, ts_ms, snaps)

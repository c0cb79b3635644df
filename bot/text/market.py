"""Texts for funding and open interest: /funding, /oi and the funding alert.

Rates are decimal fractions per funding interval (0.0001 = 0.01 %). A venue's rate is shown
as its own figure per its interval (``+0.0150%/4h``), beside its 8 h equivalent and its
annualised figure, so venues with different intervals compare. Pure: records in, Telegram
HTML out, every dynamic value escaped where it enters the HTML (the figures too: only
what is escaped there is known to be safe), a tag never spanning a line. The small
formatters (``format_rate``, ``next_funding``...) return plain text.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from typing import Final

from bot.alerts.rules import Fire
from bot.domain import MINUTE_MS, CoinMarket, MarketSnapshot
from bot.text.telegram import escape, venue_name
from bot.units import format_duration, format_usd

MINUS: Final = "−"
RATE_DECIMALS: Final = 4
# Per-symbol lines in one message (a coin has at most a few symbols per venue).
MAX_SYMBOLS: Final = 12
STALE_MS: Final = 5 * MINUTE_MS


def signed(value: float, decimals: int) -> str:
    """``+1.50`` / ``−1.50`` (a true minus sign); a value that rounds to zero is ``0.00``."""
    text = f"{abs(value):.{decimals}f}"
    if float(text) == 0:
        return text
    return f"{'+' if value > 0 else MINUS}{text}"


def format_rate(rate: float, decimals: int = RATE_DECIMALS) -> str:
    """A rate as a signed percentage: ``0.0001`` -> ``+0.0100%``."""
    return f"{signed(rate * 100, decimals)}%"


def format_interval(hours: float) -> str:
    """``8h``, ``1h``, ``30m``."""
    minutes = round(hours * 60)
    return f"{minutes // 60}h" if minutes % 60 == 0 else f"{minutes}m"


def rate_per(rate: float, interval_h: float, decimals: int = RATE_DECIMALS) -> str:
    """``+0.0150%/4h``: the rate per its own interval."""
    return f"{format_rate(rate, decimals)}/{format_interval(interval_h)}"


def rate_8h(rate: float, decimals: int = RATE_DECIMALS) -> str:
    """``+0.0300%/8h``: an 8 h-equivalent rate."""
    return f"{format_rate(rate, decimals)}/8h"


def format_apr(apr: float) -> str:
    """``APR +10.95%`` (simple, not compounded)."""
    return f"APR {signed(apr * 100, 2)}%"


def format_change(change: float, decimals: int = 1) -> str:
    """A relative change: ``-0.042`` -> ``−4.2%``."""
    return f"{signed(change * 100, decimals)}%"


def who_pays(funding: float) -> str:
    """Which side pays at this rate."""
    if funding > 0:
        return "longs pay shorts"
    if funding < 0:
        return "shorts pay longs"
    return "nobody pays"


def utc_clock(ms: int, now_ms: int) -> str:
    """``16:00 UTC`` within a day of now, else ``Oct 11 16:00 UTC``."""
    t = dt.datetime.fromtimestamp(ms / 1000, dt.UTC)
    if abs(ms - now_ms) < 24 * 60 * MINUTE_MS:
        return t.strftime("%H:%M UTC")
    return t.strftime("%b %d %H:%M UTC")


def next_funding(ms: int, now_ms: int) -> str:
    """``in 2h 13m (16:00 UTC)``; ``due now`` once the time has passed."""
    if ms <= now_ms:
        return f"due now ({utc_clock(ms, now_ms)})"
    # Round up to the minute: "in 0s" for a settlement 40 s away would read as past.
    left = -(-(ms - now_ms) // MINUTE_MS) * MINUTE_MS
    return f"in {format_duration(left)} ({utc_clock(ms, now_ms)})"


def freshness(ts_ms: int, now_ms: int, stale_ms: int = STALE_MS) -> str:
    """The italic footer: when the figures were polled, with a warning when stale."""
    age = max(now_ms - ts_ms, 0)
    when = "just now" if age < 1000 else f"{format_duration(age)} ago"
    if age > stale_ms:
        return f"<i>⚠️ Stale: last polled {escape(when)}; polling may be failing.</i>"
    return f"<i>Polled {escape(when)}.</i>"


def _symbols(cm: CoinMarket) -> list[MarketSnapshot]:
    """The coin's venue symbols, largest open interest first (then venue order)."""
    order = {id(s): i for i, s in enumerate(cm.venues)}
    ranked = sorted(cm.venues, key=lambda s: (-(s.oi_usd or 0.0), order[id(s)]))
    return ranked[:MAX_SYMBOLS]


def _label(s: MarketSnapshot) -> str:
    return f"<b>{escape(venue_name(s.venue))}</b> {escape(s.symbol)}"


def _venue_rate(s: MarketSnapshot) -> str:
    """``+0.0150%/4h predicted`` (the venue's own figure), or why there is none; HTML."""
    return escape(_venue_rate_text(s))


def _venue_rate_text(s: MarketSnapshot) -> str:
    if s.funding_rate is None:
        return "no funding rate"
    if not s.funding_interval_h:
        return f"{format_rate(s.funding_rate)} per interval (interval unknown)"
    text = rate_per(s.funding_rate, s.funding_interval_h)
    return f"{text} predicted" if s.predicted else text


def format_funding_coin(cm: CoinMarket, now_ms: int, stale_ms: int = STALE_MS) -> str:
    """/funding COIN: the OI-weighted 8 h funding, then per venue symbol its rate per its
    interval, the interval, the 8 h equivalent, the APR and the next funding time."""
    coin = escape(cm.coin)
    lines = [f"<b>💸 {coin} funding</b>"]
    if cm.funding_8h is not None:
        apr = cm.funding_8h * 3 * 365
        figures = f"{rate_8h(cm.funding_8h)} · {format_apr(apr)} · {who_pays(cm.funding_8h)}"
        lines.append(f"OI-weighted {escape(figures)}")
    else:
        lines.append("No OI-weighted figure: no venue gives both funding and open interest.")
    for s in _symbols(cm):
        lines += ["", _label(s)]
        detail = [_venue_rate_text(s)]
        if s.funding_interval_h:
            detail.append(f"every {format_interval(s.funding_interval_h)}")
        if s.rate_8h is not None and s.apr is not None:
            detail += [f"8h {format_rate(s.rate_8h)}", format_apr(s.apr)]
        lines.append(escape(" · ".join(detail)))
        extra = []
        if s.next_funding_ms is not None:
            extra.append(f"Next {next_funding(s.next_funding_ms, now_ms)}")
        if s.oi_usd is not None:
            extra.append(f"OI {format_usd(s.oi_usd)}")
        if extra:
            lines.append(escape(" · ".join(extra)))
    lines += ["", freshness(cm.ts_ms, now_ms, stale_ms)]
    return "\n".join(lines)


def _ranked_funding(coins: Sequence[CoinMarket], start: int = 1) -> list[str]:
    out = []
    for i, cm in enumerate(coins, start):
        assert cm.funding_8h is not None
        apr = cm.funding_8h * 3 * 365
        oi = f" · OI {format_usd(cm.oi_usd)}" if cm.oi_usd is not None else ""
        figures = f"{rate_8h(cm.funding_8h)} · {format_apr(apr)}{oi}"
        out.append(f"{i}. <b>{escape(cm.coin)}</b> {escape(figures)}")
    return out


def format_funding_market(
    coins: Sequence[CoinMarket],
    now_ms: int,
    min_oi_usd: float,
    top: int = 5,
    stale_ms: int = STALE_MS,
) -> str:
    """/funding: the most positive and most negative OI-weighted 8 h funding among coins
    with at least ``min_oi_usd`` of open interest (dust listings would dominate)."""
    eligible = [
        c
        for c in coins
        if c.funding_8h is not None and c.oi_usd is not None and c.oi_usd >= min_oi_usd
    ]
    lines = [
        "<b>💸 Funding extremes</b> · OI-weighted, 8h equivalent",
        f"{len(eligible)} coins with at least {escape(format_usd(min_oi_usd))} open interest",
    ]
    positive = sorted(
        (c for c in eligible if c.funding_8h is not None and c.funding_8h > 0),
        key=lambda c: (-(c.funding_8h or 0.0), c.coin),
    )
    negative = sorted(
        (c for c in eligible if c.funding_8h is not None and c.funding_8h < 0),
        key=lambda c: (c.funding_8h or 0.0, c.coin),
    )
    lines += ["", "<b>Most positive</b> (longs pay shorts)"]
    lines += _ranked_funding(positive[:top]) or ["None"]
    lines += ["", "<b>Most negative</b> (shorts pay longs)"]
    lines += _ranked_funding(negative[:top]) or ["None"]
    if eligible:
        lines += ["", freshness(max(c.ts_ms for c in eligible), now_ms, stale_ms)]
    return "\n".join(lines)


def _change_or_none(change: float | None) -> str:
    """HTML: the change, or ``no history``."""
    return escape("no history" if change is None else format_change(change))


def format_oi_coin(
    cm: CoinMarket,
    changes: Sequence[tuple[str, float | None]],
    symbol_changes: dict[tuple[str, str], Sequence[float | None]],
    now_ms: int,
    stale_ms: int = STALE_MS,
) -> str:
    """/oi COIN: open interest in USD per venue symbol and in total, with the changes
    over each ``(label, change)`` window (``symbol_changes`` per (venue, symbol), in the
    same order)."""
    coin = escape(cm.coin)
    lines = [f"<b>📊 {coin} open interest</b>"]
    if cm.oi_usd is None:
        lines.append("No venue reports open interest for it right now.")
    else:
        parts = [f"Total <b>{escape(format_usd(cm.oi_usd))}</b>"]
        parts += [f"{escape(label)} {_change_or_none(c)}" for label, c in changes]
        lines.append(" · ".join(parts))
    lines.append("")
    for s in _symbols(cm):
        if s.oi_usd is None:
            lines.append(f"{_label(s)} no open interest figure")
            continue
        per = symbol_changes.get((s.venue, s.symbol), [None] * len(changes))
        parts = [f"{_label(s)} {escape(format_usd(s.oi_usd))}"]
        parts += [
            f"{escape(label)} {_change_or_none(c)}"
            for (label, _), c in zip(changes, per, strict=False)
        ]
        lines.append(" · ".join(parts))
    lines += ["", freshness(cm.ts_ms, now_ms, stale_ms)]
    return "\n".join(lines)


def format_oi_market(
    moves: Sequence[tuple[str, float, float]],
    window: str,
    min_oi_usd: float,
    top: int = 5,
) -> str:
    """/oi: the biggest open-interest drops and rises over ``window`` among coins with at
    least ``min_oi_usd``; ``moves`` are ``(coin, oi_usd now, relative change)``."""
    eligible = [m for m in moves if m[1] >= min_oi_usd and math.isfinite(m[2])]
    drops = sorted((m for m in eligible if m[2] < 0), key=lambda m: (m[2], m[0]))[:top]
    rises = sorted((m for m in eligible if m[2] > 0), key=lambda m: (-m[2], m[0]))[:top]

    def ranked(rows: Sequence[tuple[str, float, float]]) -> list[str]:
        return [
            f"{i}. <b>{escape(c)}</b> {escape(format_change(ch))} · {escape(format_usd(oi))} now"
            for i, (c, oi, ch) in enumerate(rows, 1)
        ] or ["None"]

    w = escape(window)
    return "\n".join(
        [
            f"<b>📊 Open interest · last {w}</b>",
            f"{len(eligible)} coins with at least {escape(format_usd(min_oi_usd))} open"
            f" interest and a figure {w} ago",
            "",
            "<b>Biggest drops</b>",
            *ranked(drops),
            "",
            "<b>Biggest rises</b>",
            *ranked(rises),
        ]
    )


def threshold_text(threshold: float) -> str:
    """``±0.1000%/8h``: a funding alert magnitude (either sign)."""
    return f"±{abs(threshold) * 100:.{RATE_DECIMALS}f}%/8h"


def format_funding_alert(cm: CoinMarket, fire: Fire) -> str:
    """The funding alert: the coin's OI-weighted 8 h funding (with its sign), which
    threshold it crossed, who pays, open interest and each venue's own rate."""
    funding = cm.funding_8h if cm.funding_8h is not None else fire.total
    coin = escape(cm.coin)
    thr = escape(threshold_text(fire.threshold))
    rate = escape(f"{rate_8h(funding)} ({format_apr(funding * 3 * 365)})")
    lines = [f"💸 {coin} funding {rate}"]
    multiple = int(fire.multiple)
    if fire.is_escalation:
        lines.append(f"⏫ Escalation: now {multiple}× your {thr} funding alert.")
    elif multiple > 1:
        lines.append(f"Crossed your {thr} funding alert, already {multiple}× over.")
    else:
        lines.append(f"Crossed your {thr} funding alert.")
    oi = f" · open interest {format_usd(cm.oi_usd)}" if cm.oi_usd is not None else ""
    lines.append(f"OI-weighted 8h equivalent: {escape(who_pays(funding) + oi)}")
    for s in _symbols(cm):
        if s.funding_rate is not None:
            lines.append(f"{_label(s)} {_venue_rate(s)}")
    return "\n".join(lines)

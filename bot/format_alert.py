"""The alert message: what crossed, how the liquidations split, and how far to trust it.

Pure: a rule, its fire and the window's totals (plus the 24 h totals for context) in, one
Telegram HTML message out, every dynamic value escaped, never over 4096 characters.
"""

from __future__ import annotations

import datetime as dtm
import html
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Final

from bot.amounts import format_duration, format_pct, format_usd
from bot.coverage import COMPLETE_VENUES, VenueCoverage
from bot.events import VENUES
from bot.market_context import MarketContext
from bot.rules import Fire, RuleSpec
from bot.telegram_text import and_list, utf16_len, venue_name
from bot.totals_result import SideTotals, Totals

MAX_MESSAGE: Final = 4096
# A side holding more than this share of the window's USD dominated it.
SQUEEZE_SHARE: Final = 0.75
TOP_VENUES: Final = 3
TOP_COINS: Final = 5


def format_alert(
    spec: RuleSpec,
    fire: Fire,
    totals: Totals,
    day: Totals | None = None,
    context: MarketContext | None = None,
) -> str:
    """The HTML alert for one fire of ``spec``.

    ``totals`` is the rule's window (the coin's own totals for a coin rule), ``day`` the
    24 h totals of the same scope for context (skipped when the window is 24 h itself).
    ``context`` (price, funding and open interest around the window) adds a line per
    dominating coin and replaces the reading line with one built from those facts.
    """
    lines: list[str | None] = [headline(spec, fire), threshold_line(spec, fire), ""]
    lines.append(sides_line(totals))
    lines.append(_ranked("Venues", _venues(totals.by_exchange), TOP_VENUES))
    if spec.coin is None:
        lines.append(_ranked("Top coins", totals.by_coin.items(), TOP_COINS, escape=True))
    lines.append(largest_line(totals))
    if day is not None and day.window != totals.window:
        lines.append(day_line(spec, day))
    if context is None:
        lines.append(reading_line(totals))
    else:
        lines += context.fact_lines()
        lines.append(f"{reading_mark(totals)} {context.reading}")
    note = coverage_note(totals.coverage, totals.by_exchange)
    if note:
        lines += ["", f"<i>{note}</i>"]
    return fit([line for line in lines if line is not None])


def headline(spec: RuleSpec, fire: Fire) -> str:
    """``🚨 $343.2M liquidated in 1h`` (``🚨 BTC: ...`` for a coin rule); plain text, so
    the notification preview shows it as is."""
    scope = "" if spec.coin is None else f"{html.escape(spec.coin)}: "
    return f"🚨 {scope}{format_usd(fire.total)} liquidated in {html.escape(spec.window)}"


def threshold_line(spec: RuleSpec, fire: Fire) -> str:
    """Which threshold this is about: the first crossing, or an escalation to N×."""
    thr = format_usd(fire.threshold)
    if fire.is_escalation:
        return f"⏫ Escalation: now {fire.multiple}× your {thr} threshold."
    if fire.multiple > 1:
        return f"Crossed your {thr} threshold, already {fire.multiple}× over."
    return f"Crossed your {thr} threshold."


def sides_line(t: SideTotals | Totals) -> str:
    """``Longs $290.1M (85%) · Shorts $53.1M (15%) · 1,234 liquidations``."""
    total = t.total_usd
    long_share = t.long_usd / total if total > 0 else math.nan
    short_share = t.short_usd / total if total > 0 else math.nan
    return (
        f"Longs {format_usd(t.long_usd)} ({format_pct(long_share)}) · "
        f"Shorts {format_usd(t.short_usd)} ({format_pct(short_share)}) · "
        f"{t.count:,} liquidation{'' if t.count == 1 else 's'}"
    )


def largest_line(t: Totals) -> str | None:
    """``Largest: $12.3M BTCUSDT long on Binance at 14:05 UTC`` (None without one)."""
    big = t.largest
    if big is None:
        return None
    at = dtm.datetime.fromtimestamp(big.ts_ms / 1000, dtm.UTC).strftime("%H:%M UTC")
    return (
        f"Largest: {format_usd(big.usd)} {html.escape(big.symbol or big.coin)} "
        f"{html.escape(big.side)} on {html.escape(venue_name(big.exchange))} at {at}"
    )


def day_line(spec: RuleSpec, day: Totals) -> str:
    """The 24 h context: ``24h: $1.2B, longs 70%`` (of the coin for a coin rule)."""
    scope = "" if spec.coin is None else f" {html.escape(spec.coin)}"
    total = day.total_usd
    if total <= 0:
        return f"{html.escape(day.window)}{scope}: {format_usd(0)}"
    return (
        f"{html.escape(day.window)}{scope}: {format_usd(total)}, "
        f"longs {format_pct(day.long_usd / total)}"
    )


def reading_line(t: SideTotals | Totals) -> str:
    """One line on which side dominated: long squeeze, short squeeze or two-sided."""
    total = t.total_usd
    if total <= 0:
        return "No liquidations in this window."
    long_share, short_share = t.long_usd / total, t.short_usd / total
    if long_share > SQUEEZE_SHARE:
        return (
            f"📉 Long squeeze: longs were {format_pct(long_share)} of it, "
            "forced out as the price fell."
        )
    if short_share > SQUEEZE_SHARE:
        return (
            f"📈 Short squeeze: shorts were {format_pct(short_share)} of it, "
            "forced out as the price rose."
        )
    return (
        f"↔️ Two-sided: longs {format_pct(long_share)}, shorts {format_pct(short_share)}; "
        "both sides were flushed."
    )


def reading_mark(t: SideTotals | Totals) -> str:
    """The reading line's emoji: 📉 long squeeze, 📈 short squeeze, ↔️ two-sided."""
    total = t.total_usd
    if total > 0 and t.long_usd / total > SQUEEZE_SHARE:
        return "📉"
    if total > 0 and t.short_usd / total > SQUEEZE_SHARE:
        return "📈"
    return "↔️"


def coverage_note(
    coverage: Mapping[str, VenueCoverage], by_exchange: Mapping[str, object] | None = None
) -> str:
    """``Binance and OKX publish samples; Bybit all. OKX was down 3m of this window.``

    Venues come from ``coverage`` when the caller had uptime, else from ``by_exchange``.
    Empty when there is no venue to speak of.
    """
    venues = _ordered(coverage or (by_exchange or {}))
    if not venues:
        return ""
    complete = {
        v for v in venues if (coverage[v].complete if v in coverage else v in COMPLETE_VENUES)
    }
    sampled = [venue_name(v) for v in venues if v not in complete]
    full = [venue_name(v) for v in venues if v in complete]
    if sampled and full:
        note = f"{and_list(sampled)} publish{_s(sampled)} samples; {and_list(full)} all."
    elif sampled:
        note = f"{and_list(sampled)} publish{_s(sampled)} samples only."
    else:
        note = f"{and_list(full)} publish{_s(full)} every liquidation."
    down = [
        f"{venue_name(v)} was down {format_duration(coverage[v].down_ms)}"
        for v in venues
        if v in coverage and not coverage[v].live
    ]
    if down:
        note += f" {and_list(down)} of this window."
    return html.escape(note, quote=False)


def fit(lines: Sequence[str], limit: int = MAX_MESSAGE) -> str:
    """Join ``lines``; drop whole lines from the end (keeping the headline) past ``limit``.

    Lines hold balanced tags, so cutting between them keeps the HTML valid.
    """
    kept = list(lines)
    text = "\n".join(kept)
    while utf16_len(text) > limit and len(kept) > 1:
        kept.pop()
        text = "\n".join(kept)
    return text


def _venues(by_exchange: Mapping[str, SideTotals]) -> Iterable[tuple[str, SideTotals]]:
    return ((venue_name(v), t) for v, t in by_exchange.items())


def _ranked(
    label: str, items: Iterable[tuple[str, SideTotals]], top: int, *, escape: bool = False
) -> str | None:
    """``Label: A $1M · B $500K`` for the ``top`` largest non-zero items (None if none)."""
    ranked = sorted(((n, t.total_usd) for n, t in items if t.total_usd > 0), key=_by_usd)
    if not ranked:
        return None
    parts = [f"{html.escape(n) if escape else n} {format_usd(usd)}" for n, usd in ranked[:top]]
    return f"{label}: {' · '.join(parts)}"


def _by_usd(item: tuple[str, float]) -> tuple[float, str]:
    return (-item[1], item[0])


def _ordered(names: Iterable[str]) -> list[str]:
    """Known venues in their canonical order, then any others by name."""
    given = set(names)
    return [v for v in VENUES if v in given] + sorted(given - set(VENUES))


def _s(names: Sequence[str]) -> str:
    return "es" if len(names) == 1 else ""

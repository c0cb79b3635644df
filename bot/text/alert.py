"""The alert message: what crossed, how the liquidations split, and how far to trust it.

Pure: a rule, its fire and the window's totals (plus the 24 h totals for context) in, the
alert's content out as typed lines (bot/text/rich.py), rendered once as Telegram HTML
(every dynamic value escaped by the renderer, never over 4096 characters) and once as
plain text for the console: both state the same facts in the same words.
"""

from __future__ import annotations

import datetime as dtm
import html
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Final

from bot.alerts.rules import Fire
from bot.domain import RuleSpec
from bot.market.context import MarketContext
from bot.market.reading import SQUEEZE_SHARE, read
from bot.text.coverage import coverage_sentence, down_banner
from bot.text.rich import BLANK, Line, italic, line, to_html, to_plain
from bot.text.telegram import utf16_len, venue_name
from bot.totals.coverage import VenueCoverage
from bot.totals.result import SideTotals, Totals
from bot.units import format_pct, format_usd

__all__ = [
    "SQUEEZE_SHARE",
    "alert_lines",
    "alert_text",
    "coverage_note",
    "fit",
    "format_alert",
]

MAX_MESSAGE: Final = 4096
TOP_VENUES: Final = 3
TOP_COINS: Final = 5


def alert_lines(
    spec: RuleSpec,
    fire: Fire,
    totals: Totals,
    day: Totals | None = None,
    context: MarketContext | None = None,
) -> list[Line]:
    """The content of the alert for one fire of ``spec``, line by line.

    ``totals`` is the rule's window (the coin's own totals for a coin rule), ``day`` the
    24 h totals of the same scope for context (skipped when the window is 24 h itself).
    ``context`` (price, funding and open interest around the window) adds a line per
    dominating coin and feeds the reading; without it (console mode, no poller, a failed
    lookup) the reading says nothing about the market.
    """
    # Banner lines that must be seen first (a venue down for long) go before the headline.
    lines: list[Line | None] = [line(text) for text in down_banner(totals.coverage)]
    lines += [line(headline(spec, fire)), line(threshold_line(spec, fire)), BLANK]
    lines.append(line(sides_line(totals)))
    lines.append(_ranked("Venues", _venues(totals.by_exchange), TOP_VENUES))
    if spec.coin is None:
        lines.append(_ranked("Top coins", totals.by_coin.items(), TOP_COINS))
    lines.append(_maybe(largest_line(totals)))
    if day is not None and day.window != totals.window:
        lines.append(line(day_line(spec, day)))
    if context is not None:
        lines += [line(fact) for fact in context.fact_lines()]
        reading = context.reading_of
    else:
        reading = read(totals, None, market=False)
    lines.append(line(f"{reading.mark} {reading.text}"))
    # The words of coverage_note, as plain text: the renderer escapes them once.
    note = coverage_sentence(totals.coverage, totals.by_exchange)
    if note:
        lines += [BLANK, line(italic(note))]
    return [x for x in lines if x is not None]


def format_alert(
    spec: RuleSpec,
    fire: Fire,
    totals: Totals,
    day: Totals | None = None,
    context: MarketContext | None = None,
) -> str:
    """The HTML alert for one fire of ``spec`` (see :func:`alert_lines`)."""
    return fit(to_html(alert_lines(spec, fire, totals, day, context)))


def alert_text(
    spec: RuleSpec,
    fire: Fire,
    totals: Totals,
    day: Totals | None = None,
    context: MarketContext | None = None,
) -> str:
    """The same alert as plain text for a terminal: the same lines, no markup."""
    return to_plain(alert_lines(spec, fire, totals, day, context))


def headline(spec: RuleSpec, fire: Fire) -> str:
    """``🚨 $343.2M liquidated in 1h`` (``🚨 BTC: ...`` for a coin rule); plain text, so
    the notification preview shows it as is."""
    scope = "" if spec.coin is None else f"{spec.coin}: "
    return f"🚨 {scope}{format_usd(fire.total)} liquidated in {spec.window}"


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
        f"Largest: {format_usd(big.usd)} {big.symbol or big.coin} "
        f"{big.side} on {venue_name(big.exchange)} at {at}"
    )


def day_line(spec: RuleSpec, day: Totals) -> str:
    """The 24 h context: ``24h: $1.2B, longs 70%`` (of the coin for a coin rule)."""
    scope = "" if spec.coin is None else f" {spec.coin}"
    total = day.total_usd
    if total <= 0:
        return f"{day.window}{scope}: {format_usd(0)}"
    return f"{day.window}{scope}: {format_usd(total)}, longs {format_pct(day.long_usd / total)}"


def coverage_note(
    coverage: Mapping[str, VenueCoverage], by_exchange: Mapping[str, object] | None = None
) -> str:
    """``Binance and OKX publish samples; Bybit all. OKX was down 3m of this window.``
    as escaped HTML: the one coverage wording (``bot.text.coverage``) /liq uses too.

    Venues come from ``coverage`` when the caller had uptime, else from ``by_exchange``.
    Empty when there is no venue to speak of.
    """
    return html.escape(coverage_sentence(coverage, by_exchange or {}), quote=False)


def fit(lines: Sequence[str], limit: int = MAX_MESSAGE) -> str:
    """Join ``lines``; drop whole lines from the end (keeping the first) past ``limit``.

    Lines hold balanced tags, so cutting between them keeps the HTML valid.
    """
    kept = list(lines)
    text = "\n".join(kept)
    while utf16_len(text) > limit and len(kept) > 1:
        kept.pop()
        text = "\n".join(kept)
    return text


def _maybe(text: str | None) -> Line | None:
    return None if text is None else line(text)


def _venues(by_exchange: Mapping[str, SideTotals]) -> Iterable[tuple[str, SideTotals]]:
    return ((venue_name(v), t) for v, t in by_exchange.items())


def _ranked(label: str, items: Iterable[tuple[str, SideTotals]], top: int) -> Line | None:
    """``Label: A $1M · B $500K`` for the ``top`` largest non-zero items (None if none)."""
    ranked = sorted(((n, t.total_usd) for n, t in items if t.total_usd > 0), key=_by_usd)
    if not ranked:
        return None
    parts = [f"{n} {format_usd(usd)}" for n, usd in ranked[:top]]
    return line(f"{label}: {' · '.join(parts)}")


def _by_usd(item: tuple[str, float]) -> tuple[float, str]:
    return (-item[1], item[0])

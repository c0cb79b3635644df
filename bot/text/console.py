"""Plain-text output for the terminal: the per-minute summary line and ``liqwatch totals``."""

from __future__ import annotations

import time
from collections.abc import Mapping

from bot.text.telegram import sendable
from bot.totals.coverage import VenueCoverage
from bot.totals.result import Totals
from bot.units import format_pct, format_usd

TOP_COINS = 10


def _share(part: float, whole: float) -> str:
    return format_pct(part / whole) if whole > 0 else "-"


def _side_split(t: Totals) -> str:
    total = t.total_usd
    return (
        f"long {format_usd(t.long_usd)} ({_share(t.long_usd, total)}) / "
        f"short {format_usd(t.short_usd)} ({_share(t.short_usd, total)})"
    )


def _utc(ms: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(ms / 1000))


def coverage_note(coverage: Mapping[str, VenueCoverage]) -> str:
    """One line: which venues were live all window, which had gaps, which publish samples."""
    if not coverage:
        return "coverage: unknown"
    parts = []
    for venue, cov in coverage.items():
        # Gaps are down time plus time liqwatch was not running (bot.totals.coverage).
        missed = cov.down_ms + cov.not_collected_ms
        state = "live" if cov.live else f"gaps {round(missed / 60_000)}m"
        sample = "all" if cov.complete else "sample"
        parts.append(f"{venue} {state} ({sample})")
    return "coverage: " + ", ".join(parts)


def summary_line(hour: Totals, day: Totals, live: Mapping[str, bool]) -> str:
    """The one-line console summary printed every minute in console mode.

    ``live`` maps each enabled venue to whether its feed is connected right now.
    """
    venues = " ".join(
        f"{name} {format_usd(v.total_usd)}" for name, v in sorted(day.by_exchange.items())
    )
    feeds = " ".join(f"{name} {'up' if up else 'DOWN'}" for name, up in live.items())
    return sendable(
        f"1h {format_usd(hour.total_usd)} [{_side_split(hour)}] | "
        f"24h {format_usd(day.total_usd)} [{_side_split(day)}] | "
        f"24h by venue: {venues or 'none'} | feeds: {feeds}"
    )


def totals_text(t: Totals) -> str:
    """The human-readable answer of ``liqwatch totals``."""
    lines = [
        f"Liquidations {t.window}: {_utc(t.start_ms)} -> {_utc(t.end_ms)}",
        f"  total {format_usd(t.total_usd)} in {t.count} liquidations",
        f"  {_side_split(t)}",
    ]
    if t.by_exchange:
        lines.append("  by venue:")
        for name, v in sorted(t.by_exchange.items(), key=lambda kv: -kv[1].total_usd):
            lines.append(
                f"    {name:<8} {format_usd(v.total_usd):>9}  "
                f"long {format_usd(v.long_usd):>9}  short {format_usd(v.short_usd):>9}  "
                f"n={v.count}"
            )
    top = t.top_coins(TOP_COINS)
    if top:
        lines.append("  top coins:")
        for coin, c in top:
            lines.append(f"    {coin:<8} {format_usd(c.total_usd):>9}  n={c.count}")
    if t.largest is not None:
        big = t.largest
        lines.append(
            f"  largest: {format_usd(big.usd)} {big.side} {big.coin} on {big.exchange} "
            f"at {_utc(big.ts_ms)}"
        )
    lines.append("  " + coverage_note(t.coverage))
    return sendable("\n".join(lines))

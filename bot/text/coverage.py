"""The one wording of coverage, shared by alerts, /liq, /top and /status.

Plain text out (callers escape it on its way into HTML): which venues publish samples or
everything (or only part, when a venue refused subscriptions), since when liqwatch has
been collecting or how much of the window it did not collect, which venues were down, and
the banner naming a venue that has been down for a while right now.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Final

from bot.text.telegram import and_list, venue_name
from bot.totals.coverage import COMPLETE_VENUES, Span, VenueCoverage
from bot.units import format_duration
from bot.venues.registry import VENUES

# A venue down longer than this is named above the figures (issue 7: "more than 10 minutes").
BANNER_AFTER_MS: Final = 10 * 60_000
# Down or uncollected time under a second (the wait for a connection, the moments between
# a process's start and its run row) rounds to "0s": not worth a clause. From 1 s on it is said.
_MENTION_MS: Final = 1_000
_DAY_MS: Final = 24 * 3_600_000


def ordered(names: Iterable[str]) -> list[str]:
    """Known venues in their canonical order, then any others by name."""
    given = set(names)
    return [v for v in VENUES if v in given] + sorted(given - set(VENUES))


def clock(ms: int, now_ms: int) -> str:
    """``06:53 UTC`` within a day of ``now_ms``, else ``Oct 10 06:53 UTC``."""
    t = dt.datetime.fromtimestamp(ms / 1000, dt.UTC)
    return t.strftime("%H:%M UTC" if abs(now_ms - ms) < _DAY_MS else "%b %d %H:%M UTC")


def _verb(names: Sequence[str]) -> str:
    return "publishes" if len(names) == 1 else "publish"


def _topics(count: int) -> str:
    return f"{count} topic{'' if count == 1 else 's'} refused"


def feeds_sentence(coverage: Mapping[str, VenueCoverage], venues: Iterable[str] = ()) -> str:
    """``Binance and OKX publish samples; Bybit all.`` (with ``Bybit partial (2 topics
    refused)`` while Bybit refuses subscriptions). Empty without venues."""
    listed = ordered(list(coverage) or list(venues))
    sampled: list[str] = []
    full: list[str] = []
    partial: list[str] = []
    for v in listed:
        cov = coverage.get(v)
        if cov is not None and cov.partial:
            partial.append(f"{venue_name(v)} partial ({_topics(cov.dropped_topics)})")
        elif cov.complete if cov is not None else v in COMPLETE_VENUES:
            full.append(venue_name(v))
        else:
            sampled.append(venue_name(v))
    parts: list[str] = []
    if sampled:
        parts.append(f"{and_list(sampled)} {_verb(sampled)} samples")
    if full:
        parts.append(f"{and_list(full)} all" if sampled else f"{and_list(full)} {_verb(full)}")
    if partial:
        parts.append(and_list(partial))
    if not parts:
        return ""
    if not sampled and not partial:
        return f"{parts[0]} every liquidation."
    if sampled and len(parts) == 1:
        return f"{parts[0]} only."
    return "; ".join(parts) + "."


def _collecting_since(spans: tuple[Span, ...], cov: VenueCoverage) -> tuple[int, int] | None:
    """When liqwatch first started inside the window (the window opens not collected): the
    time collection started and how much was not collected after it (restarts since)."""
    if not spans or spans[0][0] != cov.start_ms:
        return None
    first_end = spans[0][1]
    if cov.horizon_ms and first_end >= cov.horizon_ms:
        return None
    return first_end, sum(e - s for s, e in spans[1:])


def collection_sentence(coverage: Mapping[str, VenueCoverage]) -> str:
    """``Collecting since 06:53 UTC.`` or ``Not collected for 12m of this window (liqwatch
    was not running).``; empty when liqwatch ran over the whole window."""
    missed = {v: c for v, c in coverage.items() if c.not_collected_ms >= _MENTION_MS}
    if not missed:
        return ""
    shared = {c.not_collected for c in missed.values()}
    if len(shared) == 1 and len(missed) == len(coverage):
        cov = next(iter(missed.values()))
        since = _collecting_since(cov.not_collected, cov)
        if since is not None:
            text = f"Collecting since {clock(since[0], cov.horizon_ms or since[0])}"
            if since[1] >= _MENTION_MS:
                text += f", except {format_duration(since[1])} (liqwatch was not running)"
            return text + "."
        return (
            f"Not collected for {format_duration(cov.not_collected_ms)} of this window"
            " (liqwatch was not running)."
        )
    each = [
        f"{venue_name(v)} {format_duration(missed[v].not_collected_ms)}" for v in ordered(missed)
    ]
    return f"Not collected (liqwatch was not running): {', '.join(each)}."


def _still_down(cov: VenueCoverage) -> bool:
    reaches_now = bool(cov.gaps) and cov.gaps[-1][1] == cov.horizon_ms
    return cov.outage_ms is not None and cov.outage_ms > 0 and reaches_now


def down_sentence(coverage: Mapping[str, VenueCoverage]) -> str:
    """``Bybit was down 45s and OKX was down 1h 30m of this window.`` (``, still down``
    for an outage going on now); empty when no venue was down while liqwatch ran."""
    down = [
        f"{venue_name(v)} was down {format_duration(coverage[v].down_ms)}"
        + (" (still down)" if _still_down(coverage[v]) else "")
        for v in ordered(coverage)
        if coverage[v].down_ms >= _MENTION_MS
    ]
    return f"{and_list(down)} of this window." if down else ""


def coverage_sentence(coverage: Mapping[str, VenueCoverage], venues: Iterable[str] = ()) -> str:
    """The whole coverage note in plain text: feeds, collection, down venues.

    Without coverage data (no uptime recorded) only the sampled/complete split is said,
    from the venues' documentation.
    """
    parts = [
        feeds_sentence(coverage, venues),
        collection_sentence(coverage),
        down_sentence(coverage),
    ]
    return " ".join(p for p in parts if p)


def down_banner(coverage: Mapping[str, VenueCoverage]) -> list[str]:
    """Plain-text lines for venues down more than 10 minutes right now:
    ``⚠️ Binance down for 12m: figures below exclude it``."""
    return [
        f"⚠️ {venue_name(v)} down for {format_duration(cov.outage_ms)}:"
        " figures below exclude it"
        for v in ordered(coverage)
        if (cov := coverage[v]).outage_ms is not None and cov.outage_ms > BANNER_AFTER_MS
    ]


def status_coverage(cov: VenueCoverage, window: str) -> str:
    """/status: ``live for the whole last 24h``, ``collecting since 06:53 UTC`` (plus what
    it missed since), ``down 5m in the last 24h``, ``not collected 2h in the last 24h``."""
    if cov.live:
        return f"live for the whole last {window}"
    parts: list[str] = []
    since = _collecting_since(cov.not_collected, cov)
    if since is not None:
        parts.append(f"collecting since {clock(since[0], cov.horizon_ms or since[0])}")
        if since[1] >= _MENTION_MS:
            parts.append(f"not collected {format_duration(since[1])}")
    elif cov.not_collected_ms >= _MENTION_MS:
        parts.append(f"not collected {format_duration(cov.not_collected_ms)}")
    if cov.down_ms >= _MENTION_MS:
        parts.append(f"down {format_duration(cov.down_ms)}")
    elif not parts:
        parts.append("down under a second")
    text = ", ".join(parts)
    if since is None:
        return f"{text} in the last {window}"
    return f"{text} since" if len(parts) > 1 else text

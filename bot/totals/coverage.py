"""Which part of a window each venue's feed covered, and why the rest was missed.

Every instant of the elapsed window is in exactly one of three states per venue:
- *live*: inside one of the venue's connected intervals (``storage.uptime``);
- *venue down*: liqwatch was running (``storage.runs``) but the feed was not connected
  (disconnected, never connected since start, or cut by its silence watchdog);
- *not collected*: liqwatch itself was not running (before the first start, between a
  stop or crash and the next start).
Totals for a window are only as good as this: a gap means liquidations were missed, and a
sampled feed (``VenueInfo.complete`` False) under-reports even while connected.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

# Each venue declares whether its feed is complete (``VenueInfo.complete``).
from bot.venues.registry import COMPLETE_VENUES as COMPLETE_VENUES

Span = tuple[int, int]
Interval = tuple[int, int] | tuple[int, int, bool]
"""``(start_ms, end_ms)`` of a finished interval, or ``(start_ms, end_ms, open)``: an open
one is still being extended, so it may have lasted until now."""


@dataclass(slots=True, frozen=True)
class VenueCoverage:
    """One venue's coverage of a window.

    ``live`` is true when the feed was connected over the whole (elapsed part of the) window;
    ``gaps`` are all the spans it was not (clipped to the window), of which ``not_collected``
    are those when liqwatch itself was not running; ``down_ms`` is the length of the rest
    (the venue was down while liqwatch ran), ``not_collected_ms`` that of ``not_collected``.
    ``complete`` says whether the venue publishes every liquidation or only a sample.
    ``start_ms`` and ``horizon_ms`` are where the window and its elapsed part begin and end
    (0: unknown). From the live feed health,
    not from storage: ``outage_ms`` is how long the venue has been down right now (None
    while it is up or unknown) and ``dropped_topics`` how many subscriptions it refused
    (then its coverage is partial).
    """

    venue: str
    live: bool
    complete: bool
    gaps: tuple[Span, ...]
    down_ms: int
    not_collected_ms: int = 0
    not_collected: tuple[Span, ...] = ()
    horizon_ms: int = 0
    start_ms: int = 0
    outage_ms: int | None = None
    dropped_topics: int = 0

    @property
    def partial(self) -> bool:
        """True while the venue refused some subscriptions: symbols go unobserved."""
        return self.dropped_topics > 0

    def to_json(self) -> dict[str, Any]:
        """The contract's coverage value:
        ``{live, complete, gaps: [[s, e], ...], down_ms, not_collected_ms}``."""
        return {
            "live": self.live,
            "complete": self.complete and not self.partial,
            "gaps": [[s, e] for s, e in self.gaps],
            "down_ms": self.down_ms,
            "not_collected_ms": self.not_collected_ms,
        }

    def with_health(self, outage_ms: int | None, dropped_topics: int) -> VenueCoverage:
        """This coverage with the live feed facts attached."""
        return replace(self, outage_ms=outage_ms, dropped_topics=dropped_topics)


def _clip(spans: Iterable[Interval], start: int, horizon: int, slack_ms: int) -> list[Span]:
    """Spans cut to ``[start, horizon)``; an open one ending within ``slack_ms`` of the
    horizon lasts until it (it is only extended every few seconds). Sorted, non-empty."""
    out: list[Span] = []
    for span in spans:
        s, e = span[0], span[1]
        still_open = len(span) == 3 and span[-1] is True
        end = horizon if still_open and e >= horizon - slack_ms else min(e, horizon)
        s = max(s, start)
        if s < end:
            out.append((s, end))
    out.sort()
    return out


def _union(spans: list[Span]) -> list[Span]:
    """Sorted spans merged where they overlap or touch."""
    merged: list[Span] = []
    for s, e in spans:
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    return merged


def _complement(union: list[Span], start: int, horizon: int) -> list[Span]:
    """The parts of ``[start, horizon)`` outside the merged ``union``."""
    gaps: list[Span] = []
    cursor = start
    for s, e in union:
        if s > cursor:
            gaps.append((cursor, s))
        cursor = max(cursor, e)
    if cursor < horizon:
        gaps.append((cursor, horizon))
    return gaps


def venue_coverage(
    venue: str,
    intervals: Iterable[Interval],
    start_ms: int,
    end_ms: int,
    now_ms: int | None = None,
    slack_ms: int = 0,
    runs: Iterable[Interval] | None = None,
) -> VenueCoverage:
    """Coverage of ``[start_ms, end_ms)`` by one venue's connected ``intervals``.

    The part of the window after ``now_ms`` has not happened yet (window ends are rounded up
    to the minute), so it is never a gap. Only an interval still open may end within
    ``slack_ms`` of that horizon and count as lasting until it: a closed one ended when the
    feed went down. Intervals may overlap (several connections per venue); their union is
    what counts. ``runs`` are when liqwatch was running (None: all along); a moment in a
    connected interval is proof it was running even without a run row (databases older
    than the runs table). Gaps outside every run are "not collected", the rest "down".
    """
    horizon = max(start_ms, end_ms if now_ms is None else min(end_ms, now_ms))
    covered = _union(_clip(intervals, start_ms, horizon, slack_ms))
    gaps = _complement(covered, start_ms, horizon)
    if runs is None:
        unrecorded: list[Span] = []
    else:
        running = _union(sorted(_clip(runs, start_ms, horizon, slack_ms) + covered))
        unrecorded = _complement(running, start_ms, horizon)
    missed = sum(e - s for s, e in gaps)
    not_collected = sum(e - s for s, e in unrecorded)
    return VenueCoverage(
        venue=venue,
        live=not gaps,
        complete=venue in COMPLETE_VENUES,
        gaps=tuple(gaps),
        down_ms=missed - not_collected,
        not_collected_ms=not_collected,
        not_collected=tuple(unrecorded),
        horizon_ms=horizon,
        start_ms=start_ms,
    )


def window_coverage(
    uptime: Iterable[tuple[str, int, int] | tuple[str, int, int, bool]],
    venues: Iterable[str],
    start_ms: int,
    end_ms: int,
    now_ms: int | None = None,
    slack_ms: int = 0,
    runs: Iterable[Interval] | None = None,
) -> dict[str, VenueCoverage]:
    """Coverage of ``[start_ms, end_ms)`` for each of ``venues`` from uptime rows
    ``(venue, start_ms, end_ms[, open])`` and liqwatch's ``runs`` (None: all along).

    A venue with no interval in the window is not live and the whole window is its gap;
    rows of venues not listed still prove liqwatch was running.
    """
    by_venue: dict[str, list[Interval]] = {v: [] for v in venues}
    every: list[Interval] = []
    for row in uptime:
        venue = row[0]
        interval: Interval = (row[1], row[2], row[-1] is True) if len(row) == 4 else row[1:3]
        every.append(interval)
        spans = by_venue.get(venue)
        if spans is not None:
            spans.append(interval)
    proof = None if runs is None else [*runs, *every]
    return {
        v: venue_coverage(v, spans, start_ms, end_ms, now_ms, slack_ms, proof)
        for v, spans in by_venue.items()
    }


def coverage_json(coverage: Mapping[str, VenueCoverage]) -> dict[str, dict[str, Any]]:
    """``{venue: {live, complete, gaps, down_ms, not_collected_ms}}`` for a coverage map."""
    return {venue: cov.to_json() for venue, cov in coverage.items()}

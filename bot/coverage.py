"""Which part of a window each venue's feed covered, and whether that feed is complete.

Input is the connected intervals ``storage.uptime.read_uptime`` returns, ``(venue, start_ms,
end_ms)``; the complement of their union inside the window is the venue's gaps. Totals for
a window are only as good as this: a gap means liquidations were missed, and a sampled feed
(Binance, OKX) under-reports even while connected.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

# Per the venues' docs (see shared/reference/data-sources.md): Bybit ``allLiquidation`` pushes
# all liquidations; Binance ``!forceOrder@arr`` pushes at most one order per symbol per second
# (the largest); OKX says its feed "doesn't represent the total number of liquidations".
COMPLETE_VENUES: Final = frozenset({"bybit"})


@dataclass(slots=True, frozen=True)
class VenueCoverage:
    """One venue's coverage of a window.

    ``live`` is true when the feed was connected over the whole (elapsed part of the) window;
    ``gaps`` are the disconnected spans clipped to the window, ``down_ms`` their total length;
    ``complete`` says whether the venue publishes every liquidation or only a sample.
    """

    venue: str
    live: bool
    complete: bool
    gaps: tuple[tuple[int, int], ...]
    down_ms: int

    def to_json(self) -> dict[str, Any]:
        """The contract's coverage value: ``{live, complete, gaps: [[s, e], ...], down_ms}``."""
        return {
            "live": self.live,
            "complete": self.complete,
            "gaps": [[s, e] for s, e in self.gaps],
            "down_ms": self.down_ms,
        }


def venue_coverage(
    venue: str,
    intervals: Iterable[tuple[int, int]],
    start_ms: int,
    end_ms: int,
    now_ms: int | None = None,
    slack_ms: int = 0,
) -> VenueCoverage:
    """Coverage of ``[start_ms, end_ms)`` by one venue's connected ``intervals``.

    The part of the window after ``now_ms`` has not happened yet (window ends are rounded up
    to the minute), so it is never a gap. An interval ending within ``slack_ms`` of that
    horizon counts as still open: open intervals are only extended every few seconds.
    Intervals may overlap (several connections per venue); their union is what counts.
    """
    horizon = end_ms if now_ms is None else min(end_ms, now_ms)
    clipped = (
        (max(s, start_ms), horizon if e >= max(horizon - slack_ms, start_ms) else min(e, horizon))
        for s, e in intervals
    )
    spans = sorted((s, e) for s, e in clipped if s < e)
    gaps: list[tuple[int, int]] = []
    cursor = start_ms
    for s, e in spans:
        if s > cursor:
            gaps.append((cursor, s))
        cursor = max(cursor, e)
    if cursor < horizon:
        gaps.append((cursor, horizon))
    down = sum(e - s for s, e in gaps)
    return VenueCoverage(
        venue=venue,
        live=not gaps,
        complete=venue in COMPLETE_VENUES,
        gaps=tuple(gaps),
        down_ms=down,
    )


def window_coverage(
    uptime: Iterable[tuple[str, int, int]],
    venues: Iterable[str],
    start_ms: int,
    end_ms: int,
    now_ms: int | None = None,
    slack_ms: int = 0,
) -> dict[str, VenueCoverage]:
    """Coverage of ``[start_ms, end_ms)`` for each of ``venues`` from uptime rows.

    A venue with no interval in the window is not live and the whole window is its gap;
    rows for venues not listed are ignored.
    """
    by_venue: dict[str, list[tuple[int, int]]] = {v: [] for v in venues}
    for venue, s, e in uptime:
        spans = by_venue.get(venue)
        if spans is not None:
            spans.append((s, e))
    return {
        v: venue_coverage(v, spans, start_ms, end_ms, now_ms, slack_ms)
        for v, spans in by_venue.items()
    }


def coverage_json(coverage: Mapping[str, VenueCoverage]) -> dict[str, dict[str, Any]]:
    """``{venue: {live, complete, gaps, down_ms}}`` for a coverage mapping."""
    return {venue: cov.to_json() for venue, cov in coverage.items()}

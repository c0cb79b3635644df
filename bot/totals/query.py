"""Rolling liquidation totals: the public face of the index, and the one-shot DB answer.

The long-running bot keeps a warm ``TotalsIndex`` (``load_from_db`` at start-up, then
``apply`` after each committed batch); the one-shot CLI asks ``one_shot_service``, which
loads only the sums of the asked window into a fresh index.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from sqlite_utils import Database

from bot.domain import HOUR_MS
from bot.totals.coverage import VenueCoverage, window_coverage
from bot.totals.index import TotalsIndex
from bot.totals.result import (
    CoinTotals,
    ExchangeTotals,
    Largest,
    SideTotals,
    Totals,
    window_bounds,
    window_name,
)
from bot.totals.service import TotalsService
from storage.buckets import read_buckets, sum_buckets
from storage.runs import read_runs
from storage.uptime import read_intervals

__all__ = [
    "OPEN_SLACK_MS",
    "CoinTotals",
    "ExchangeTotals",
    "Largest",
    "SideTotals",
    "Totals",
    "TotalsIndex",
    "load_from_db",
    "one_shot_service",
    "totals_from_db",
    "window_bounds",
    "window_name",
]

# The feed extends an open uptime interval (and the core its run) every 30 s, so an open one
# may end up to that long before now; twice that still counts as lasting until now. Closed
# intervals get no slack: the feed went down when they ended.
OPEN_SLACK_MS = 60_000

# Read a long range in slices: read_buckets returns Python tuples (~0.5 kB per row), so one
# read of 7 days would briefly cost far more memory than the index it fills.
_LOAD_SLICE_MS = 6 * HOUR_MS


def load_from_db(
    index: TotalsIndex, db: Database, start_ms: int, end_ms: int, coin: str | None = None
) -> int:
    """Load the stored buckets with ``start_ms <= minute_ms < end_ms`` into ``index``, in
    slices; returns the number of rows loaded."""
    total = 0
    lo = start_ms
    while lo < end_ms:
        hi = min(lo + _LOAD_SLICE_MS, end_ms)
        total += index.load(read_buckets(db, lo, hi, coin))
        lo = hi
    return total


def coverage_from_db(
    db: Database,
    venues: Sequence[str],
    start_ms: int,
    end_ms: int,
    now_ms: int,
    slack_ms: int = OPEN_SLACK_MS,
) -> dict[str, VenueCoverage]:
    """Each venue's coverage of ``[start_ms, end_ms)`` from the stored uptime intervals and
    liqwatch's runs: live, venue down, or not collected."""
    rows = read_intervals(db, start_ms, end_ms)
    runs = read_runs(db, start_ms, end_ms)
    return window_coverage(rows, venues, start_ms, end_ms, now_ms, slack_ms, runs)


def one_shot_service(
    db: Database,
    window_ms: int,
    end_ms: int,
    coin: str | None,
    venues: Sequence[str],
    now_ms: int,
) -> TotalsService:
    """A ``TotalsService`` over just one window's sums read from ``db`` (the CLI's one-shot
    path): it answers that window (and ``coin``, when given) with its stored coverage."""
    start, end = window_bounds(window_ms, end_ms)
    index = TotalsIndex()
    # The window's sums per series, pre-aggregated by SQLite: one row each instead of
    # every minute bucket (a 24 h read of ~200k buckets took ~2 s through Python tuples).
    index.load(sum_buckets(db, start, end, None if coin is None else coin.upper()))

    def coverage(window: int, at: int) -> dict[str, VenueCoverage]:
        return coverage_from_db(db, venues, *window_bounds(window, at), now_ms)

    return TotalsService(index, venues, coverage=coverage, now_ms=lambda: now_ms)


def totals_from_db(
    db: Database,
    window_ms: int,
    end_ms: int | None,
    coin: str | None,
    venues: Sequence[str],
    now_ms: int,
) -> Totals:
    """Totals of one window straight from the database, with each enabled venue's coverage.

    ``end_ms`` defaults to ``now_ms``; only ``venues`` (the enabled ones) are counted.
    """
    end = now_ms if end_ms is None else end_ms
    service = one_shot_service(db, window_ms, end, coin, venues, now_ms)
    totals = service.totals(window_ms, coin, end)
    return replace(
        totals, coverage=coverage_from_db(db, venues, totals.start_ms, totals.end_ms, now_ms)
    )

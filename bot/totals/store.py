"""The two numpy structures behind ``TotalsIndex``: one hour's minute rows, and the grid of
per-hour totals per series.

``HourRows`` keeps an hour's minute buckets as parallel columns. Rows may repeat a
(minute, series) key (every flush appends) until ``compact`` merges them. A prefix of the
rows is kept sorted by minute, so the minutes of a partial edge hour are a contiguous slice
found by binary search instead of a mask over the whole hour.

``HourGrid`` holds three dense (hour x series) matrices: USD, count and the largest single
liquidation (20 bytes per cell). Summing whole hours of a window is one reduction over a few
thousand cells per hour.
"""

from __future__ import annotations

from typing import TypeVar

import numpy as np
import numpy.typing as npt

F8 = npt.NDArray[np.float64]
I8 = npt.NDArray[np.int64]
I4 = npt.NDArray[np.int32]
I2 = npt.NDArray[np.int16]
_A = TypeVar("_A", F8, I4)

_COLUMNS = ("minute", "sid", "usd", "count", "max_usd", "max_at", "sym")
_GROW_HOURS = 24  # grid rows added at a time: about one reallocation per day of new data
_GROW_SERIES = 64


class HourRows:
    """One hour's minute buckets: minute-in-hour, series id, usd, count, max_usd, max_at (the
    largest liquidation's time, in ms after the hour's start) and max-symbol id columns;
    ``n`` rows in use, the first ``ordered`` sorted by minute. 34 bytes per row."""

    __slots__ = (*_COLUMNS, "merged", "n", "ordered")

    def __init__(self) -> None:
        self.n = 0
        self.ordered = 0
        self.merged = 0  # rows known to be unique per (minute, series)
        self.minute: I2 = np.empty(0, np.int16)
        self.sid: I4 = np.empty(0, np.int32)
        self.usd: F8 = np.empty(0, np.float64)
        self.count: I4 = np.empty(0, np.int32)
        self.max_usd: F8 = np.empty(0, np.float64)
        self.max_at: I4 = np.empty(0, np.int32)
        self.sym: I4 = np.empty(0, np.int32)

    def append(
        self, minute: I2, sid: I4, usd: F8, count: I4, max_usd: F8, max_at: I4, sym: I4
    ) -> None:
        """Add rows; columns grow geometrically (the live hour gets many small batches)."""
        n, k = self.n, len(sid)
        if n + k > len(self.sid):
            cap = k if n == 0 else max(n + k, 2 * len(self.sid))
            for name in _COLUMNS:
                old = getattr(self, name)
                new = np.empty(cap, old.dtype)
                new[:n] = old[:n]
                setattr(self, name, new)
        end = n + k
        self.minute[n:end] = minute
        self.sid[n:end] = sid
        self.usd[n:end] = usd
        self.count[n:end] = count
        self.max_usd[n:end] = max_usd
        self.max_at[n:end] = max_at
        self.sym[n:end] = sym
        # Live batches usually hold the current minute only: the sorted prefix then grows.
        if (
            self.ordered == n
            and k
            and (n == 0 or minute[0] >= self.minute[n - 1])
            and (k == 1 or bool(np.all(minute[1:] >= minute[:-1])))
        ):
            self.ordered = end
        self.n = end

    def compact(self) -> None:
        """Merge rows of the same (minute, series), sort by minute, trim to length."""
        n = self.n
        if n == 0:
            return
        key = (self.minute[:n].astype(np.int64) << 32) | self.sid[:n]
        # Within a key the largest max_usd comes first; lexsort is stable, so on a tie the
        # earliest applied row wins, as in storage's upsert.
        order = np.lexsort((-self.max_usd[:n], key))
        ks = key[order]
        first = np.empty(n, np.bool_)
        first[0] = True
        np.not_equal(ks[1:], ks[:-1], out=first[1:])
        starts = np.flatnonzero(first)
        pick = order[starts]
        self.usd = np.add.reduceat(self.usd[:n][order], starts)
        self.count = np.add.reduceat(self.count[:n][order], starts)
        self.minute = self.minute[pick]
        self.sid = self.sid[pick]
        self.max_usd = self.max_usd[pick]
        self.max_at = self.max_at[pick]
        self.sym = self.sym[pick]
        self.n = self.merged = self.ordered = len(starts)

    def minutes(self, lo: int, hi: int) -> tuple[slice, I8 | None]:
        """Rows with ``lo <= minute < hi``: a slice of the sorted prefix plus the matching
        indices of the unsorted tail (None when there is no tail)."""
        head = self.minute[: self.ordered]
        a, b = np.searchsorted(head, (lo, hi), side="left").tolist()
        if self.ordered == self.n:
            return slice(a, b), None
        tail = self.minute[self.ordered : self.n]
        return slice(a, b), np.flatnonzero((tail >= lo) & (tail < hi)) + self.ordered

    def nbytes(self) -> int:
        """Bytes held by the columns (capacity, not just rows in use)."""
        return sum(int(getattr(self, name).nbytes) for name in _COLUMNS)


class HourGrid:
    """Per-hour, per-series USD, count and largest liquidation; row r is hour ``base + r``."""

    def __init__(self) -> None:
        self.base = 0
        self.rows = 0  # rows in use
        self.usd: F8 = np.zeros((0, 0), np.float64)
        self.count: I4 = np.zeros((0, 0), np.int32)
        self.max_usd: F8 = np.full((0, 0), -np.inf)

    def ensure(self, h_min: int, h_max: int, n_series: int) -> None:
        """Make hours ``h_min..h_max`` and ``n_series`` columns addressable."""
        cap_rows, n_cols = self.usd.shape
        cols = n_cols if n_series <= n_cols else n_series + max(_GROW_SERIES, n_series // 4)
        base = h_min if self.rows == 0 else min(self.base, h_min)
        top = h_max + 1 if self.rows == 0 else max(self.base + self.rows, h_max + 1)
        if base == self.base and top - base <= cap_rows and cols == n_cols:
            self.rows = top - base
            return
        new_rows = cap_rows if base == self.base and top - base <= cap_rows else None
        new_rows = new_rows or top - base + _GROW_HOURS
        shift = self.base - base if self.rows else 0
        usd = np.zeros((new_rows, cols), np.float64)
        count = np.zeros((new_rows, cols), np.int32)
        max_usd = np.full((new_rows, cols), -np.inf)
        if self.rows:
            usd[shift : shift + self.rows, :n_cols] = self.usd[: self.rows]
            count[shift : shift + self.rows, :n_cols] = self.count[: self.rows]
            max_usd[shift : shift + self.rows, :n_cols] = self.max_usd[: self.rows]
        self.usd, self.count, self.max_usd = usd, count, max_usd
        self.base = base
        self.rows = top - base

    def add(self, hour: int, sid: I4, usd: F8, count: I4, max_usd: F8, n_series: int) -> None:
        """Scatter rows of one hour into its grid row (``ensure`` first)."""
        r = hour - self.base
        g_usd, g_count = self.usd[r], self.count[r]
        if len(sid) > n_series // 4:
            g_usd[:n_series] += np.bincount(sid, weights=usd, minlength=n_series)
            counts = np.bincount(sid, weights=count, minlength=n_series)
            g_count[:n_series] += counts.astype(np.int32)
        else:
            np.add.at(g_usd, sid, usd)
            np.add.at(g_count, sid, count)
        np.maximum.at(self.max_usd[r], sid, max_usd)

    def span(self, hour_lo: int, hour_hi: int) -> tuple[int, int]:
        """Grid rows of hours ``[hour_lo, hour_hi)`` that exist (empty when lo >= hi)."""
        return max(hour_lo - self.base, 0), min(hour_hi - self.base, self.rows)

    def drop_before(self, hour: int) -> None:
        """Forget hours before ``hour``, reallocating so their memory is freed."""
        shift = hour - self.base
        if shift <= 0 or self.rows == 0:
            return
        keep = max(self.rows - shift, 0)
        cap = keep + _GROW_HOURS
        self.usd = _shifted(self.usd, shift, keep, cap, 0.0)
        self.count = _shifted(self.count, shift, keep, cap, 0)
        self.max_usd = _shifted(self.max_usd, shift, keep, cap, -np.inf)
        self.base = hour
        self.rows = keep

    def nbytes(self) -> int:
        """Bytes held by the three matrices."""
        return int(self.usd.nbytes + self.count.nbytes + self.max_usd.nbytes)


def _shifted(a: _A, shift: int, keep: int, cap: int, fill: float) -> _A:
    out = np.full((cap, a.shape[1]), fill, a.dtype)
    out[:keep] = a[shift : shift + keep]
    return out

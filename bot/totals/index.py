"""``TotalsIndex``: additive in-memory minute buckets answering rolling-window queries.

Every (venue, coin, side) gets a dense series id. Each clock hour has its minute rows
(``HourRows``) and one row of the per-series hour grid (``HourGrid``). A window sums the
grid rows of the whole hours it spans and bincounts the minute rows of at most two partial
edge hours; the largest liquidation is the maximum of the same cells' per-bucket maxima.
Deltas may arrive for any minute any number of times: they are appended to their hour's
rows and scattered into its grid row.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from bot import clock
from bot.domain import HOUR_MS, MINUTE_MS, BucketDelta, BucketKey, BucketRow
from bot.totals.coverage import VenueCoverage
from bot.totals.result import Best, MinuteSeries, Totals, assemble_totals, window_bounds
from bot.totals.series import Mask, SeriesTable
from bot.totals.store import F8, I8, HourGrid, HourRows

_LOAD_BATCH = 200_000


class TotalsIndex:
    """In-memory, numpy-backed index of minute buckets (everything fed is summed).

    Feed it ``load(rows)`` at start-up (``storage.buckets.read_buckets`` rows) and
    ``apply(deltas)`` after each committed batch; ``drop_before(ms)`` bounds memory.
    Applying the same delta twice counts it twice. Not thread-safe: use it from one thread.
    """

    def __init__(self) -> None:
        self._series = SeriesTable()
        self._grid = HourGrid()
        self._hours: dict[int, HourRows] = {}
        self._hot: set[int] = set()  # hours apply() appended to since their last compaction
        self._newest = -(1 << 62)
        self._floor: int | None = None  # hours before this were dropped
        self.ignored = 0  # bucket rows ignored because they fell before a drop_before cut

    @property
    def series(self) -> int:
        """Number of distinct (venue, coin, side) series seen."""
        return self._series.n

    def nbytes(self) -> int:
        """Bytes held by numpy arrays (hour grid plus minute rows)."""
        return self._grid.nbytes() + sum(r.nbytes() for r in self._hours.values())

    # ----- feeding -------------------------------------------------------------------------

    def apply(self, deltas: Mapping[BucketKey, BucketDelta]) -> None:
        """Add committed bucket deltas (any minutes, late ones included)."""
        if not deltas:
            return
        table = self._series
        series_of, symbol_id = table.of, table.symbol_id
        minutes: list[int] = []
        sids: list[int] = []
        usds: list[float] = []
        counts: list[int] = []
        maxes: list[float] = []
        max_ts: list[int] = []
        syms: list[int] = []
        for key, d in deltas.items():
            minutes.append(key[0])
            sk = (key[1], key[2], key[3])
            s = series_of.get(sk)
            sids.append(table.add(sk) if s is None else s)
            usds.append(d.usd)
            counts.append(d.count)
            maxes.append(d.max_usd)
            max_ts.append(d.max_ts)
            y = symbol_id.get(d.max_symbol)
            syms.append(table.symbol(d.max_symbol) if y is None else y)
        self._add(minutes, sids, usds, counts, maxes, max_ts, syms, fresh=False)

    def load(self, rows: Iterable[BucketRow]) -> int:
        """Bulk-add stored rows ``(minute_ms, venue, coin, side, usd, count, max_usd, max_ts,
        max_symbol)``; returns how many were read.

        Storage rows are unique per key, so hours that were empty need no compaction.
        """
        total = 0
        it = iter(rows)
        while batch := [r for _, r in zip(range(_LOAD_BATCH), it, strict=False)]:
            total += len(batch)
            minute, venue, coin, side, usd, count, max_usd, max_ts, symbol = zip(
                *batch, strict=True
            )
            table = self._series
            series_of, symbol_id = table.of, table.symbol_id
            sids = []
            for sk in zip(venue, coin, side, strict=True):
                s = series_of.get(sk)
                sids.append(table.add(sk) if s is None else s)
            syms = []
            for y in symbol:
                i = symbol_id.get(y)
                syms.append(table.symbol(y) if i is None else i)
            self._add(minute, sids, usd, count, max_usd, max_ts, syms, fresh=True)
        return total

    def drop_before(self, ms: int) -> None:
        """Free every whole hour ending at or before ``ms`` (the hour containing ``ms`` is
        kept whole); data later fed for those hours is ignored and counted in ``ignored``."""
        cut = ms // HOUR_MS
        self._floor = cut if self._floor is None else max(self._floor, cut)
        for h in [h for h in self._hours if h < cut]:
            del self._hours[h]
            self._hot.discard(h)
        self._grid.drop_before(cut)

    # ----- querying ------------------------------------------------------------------------

    def query(
        self,
        window_ms: int,
        end_ms: int | None = None,
        coin: str | None = None,
        *,
        now_ms: int | None = None,
        venues: Sequence[str] | None = None,
        coverage: Mapping[str, VenueCoverage] | None = None,
    ) -> Totals:
        """Totals of the whole-minute window of ``window_ms`` ending at ``end_ms`` (default
        ``now_ms``, default the clock), rounded up to the minute.

        ``coin`` restricts to that coin's series (``by_coin`` then has exactly that entry);
        ``venues`` restricts to those venues and lists each in ``by_exchange`` (by default
        every venue the index has seen). ``coverage`` is attached as given.
        """
        at = end_ms if end_ms is not None else now_ms
        if at is None:
            at = clock.now_ms()
        start, end = window_bounds(window_ms, at)
        listed = None if venues is None else list(dict.fromkeys(v.lower() for v in venues))
        sel = self._series.selection(coin, listed)
        usd = np.zeros(self._series.n, np.float64)
        cnt = np.zeros(self._series.n, np.float64)
        best: list[Best] = []
        full_lo, full_hi = -(-start // HOUR_MS), end // HOUR_MS
        edges: list[tuple[int, int, int]] = []
        if full_lo <= full_hi:
            if start % HOUR_MS:
                edges.append((start // HOUR_MS, start % HOUR_MS // MINUTE_MS, 60))
            if end % HOUR_MS:
                edges.append((full_hi, 0, end % HOUR_MS // MINUTE_MS))
            self._sum_hours(full_lo, full_hi, sel, usd, cnt, best)
        else:  # start and end inside the same hour
            h = start // HOUR_MS
            edges.append((h, start % HOUR_MS // MINUTE_MS, (end - h * HOUR_MS) // MINUTE_MS))
        for hour, lo, hi in edges:
            self._sum_minutes(hour, lo, hi, sel, usd, cnt, best)
        return assemble_totals(
            self._series, window_ms, (start, end), coin, listed, usd, cnt, best, coverage
        )

    def minute_series(
        self,
        window_ms: int,
        end_ms: int,
        coin: str | None = None,
        venues: Sequence[str] | None = None,
    ) -> MinuteSeries:
        """USD per minute and side over the same window and selection as :meth:`query`."""
        start, end = window_bounds(window_ms, end_ms)
        listed = None if venues is None else list(dict.fromkeys(v.lower() for v in venues))
        sel = self._series.selection(coin, listed)
        side_of = self._series.side_of
        minutes = (end - start) // MINUTE_MS
        out = np.zeros((2, minutes), np.float64)
        for hour in range(start // HOUR_MS, -(-end // HOUR_MS)):
            rows = self._hours.get(hour)
            if rows is None:
                continue
            sid, usd = rows.sid[: rows.n], rows.usd[: rows.n]
            at = (hour * HOUR_MS - start) // MINUTE_MS + rows.minute[: rows.n].astype(np.int64)
            keep = (at >= 0) & (at < minutes)
            if sel is not None:
                keep &= sel[sid]
            np.add.at(out, (side_of[sid[keep]], at[keep]), usd[keep])
        return MinuteSeries(start, tuple(out[0].tolist()), tuple(out[1].tolist()))

    def _sum_hours(
        self, hour_lo: int, hour_hi: int, sel: Mask | None, usd: F8, cnt: F8, best: list[Best]
    ) -> None:
        g, n = self._grid, self._series.n
        lo, hi = g.span(hour_lo, hour_hi)
        if hi <= lo or n == 0:
            return
        if sel is None:
            usd += g.usd[lo:hi, :n].sum(axis=0)
            cnt += g.count[lo:hi, :n].sum(axis=0)
            maxes = g.max_usd[lo:hi, :n]
            cols = None
        else:
            cols = np.flatnonzero(sel)
            if len(cols) == 0:
                return
            usd[cols] += g.usd[lo:hi][:, cols].sum(axis=0)
            cnt[cols] += g.count[lo:hi][:, cols].sum(axis=0)
            maxes = g.max_usd[lo:hi][:, cols]
        # A column reduction then two short argmaxes: argmax over the (strided) block
        # itself would copy it first.
        c = int(np.argmax(maxes.max(axis=0)))
        r = int(np.argmax(maxes[:, c]))
        top = float(maxes[r, c])
        if top == -np.inf:
            return
        s = c if cols is None else int(cols[c])
        # The grid keeps only the value; the minute row that produced it has time and symbol.
        rows = self._hours[g.base + lo + r]
        i = int(np.argmax((rows.sid[: rows.n] == s) & (rows.max_usd[: rows.n] == top)))
        hour_ms = (g.base + lo + r) * HOUR_MS
        best.append((top, hour_ms + int(rows.max_at[i]), s, int(rows.sym[i])))

    def _sum_minutes(
        self, hour: int, lo: int, hi: int, sel: Mask | None, usd: F8, cnt: F8, best: list[Best]
    ) -> None:
        rows = self._hours.get(hour)
        if rows is None or hi <= lo:
            return
        head, tail = rows.minutes(lo, hi)
        parts: list[slice | I8] = [head] if tail is None else [head, tail]
        for part in parts:
            sid = rows.sid[part]
            usd_p, cnt_p, max_p = rows.usd[part], rows.count[part], rows.max_usd[part]
            if sel is not None:
                keep = sel[sid]
                sid, usd_p, cnt_p, max_p = sid[keep], usd_p[keep], cnt_p[keep], max_p[keep]
                pos = np.arange(len(keep))[keep]
            if len(sid) == 0:
                continue
            usd += np.bincount(sid, weights=usd_p, minlength=self._series.n)
            cnt += np.bincount(sid, weights=cnt_p, minlength=self._series.n)
            j = int(np.argmax(max_p))
            if sel is not None:
                j = int(pos[j])
            i = part.start + j if isinstance(part, slice) else int(part[j])
            ts = hour * HOUR_MS + int(rows.max_at[i])
            best.append((float(rows.max_usd[i]), ts, int(rows.sid[i]), int(rows.sym[i])))

    def _add(
        self,
        minute_ms: Sequence[int],
        sids: Sequence[int],
        usd: Sequence[float],
        count: Sequence[int],
        max_usd: Sequence[float],
        max_ts: Sequence[int],
        syms: Sequence[int],
        *,
        fresh: bool,
    ) -> None:
        minute = np.asarray(minute_ms, np.int64)
        cols: list[npt.NDArray[Any]] = [
            np.asarray(sids, np.int32),
            np.asarray(usd, np.float64),
            np.asarray(count, np.int32),
            np.asarray(max_usd, np.float64),
            np.asarray(max_ts, np.int64),
            np.asarray(syms, np.int32),
        ]
        hours = minute // HOUR_MS
        if self._floor is not None and int(hours.min()) < self._floor:
            keep = hours >= self._floor
            self.ignored += int(len(keep) - np.count_nonzero(keep))
            if not keep.any():
                return
            minute, hours, cols = minute[keep], hours[keep], [c[keep] for c in cols]
        h_min, h_max = int(hours.min()), int(hours.max())
        self._grid.ensure(h_min, h_max, self._series.n)
        if h_min == h_max:
            groups = [(h_min, slice(None))]
        else:
            order = np.argsort(hours, kind="stable")  # keeps minute order within an hour
            minute, hours, cols = minute[order], hours[order], [c[order] for c in cols]
            cuts = [0, *(np.flatnonzero(np.diff(hours)) + 1).tolist(), len(hours)]
            groups = [(int(hours[a]), slice(a, b)) for a, b in itertools.pairwise(cuts)]
        for hour, part in groups:
            sid, c_usd, c_cnt, c_max, c_ts, c_sym = (c[part] for c in cols)
            self._grid.add(hour, sid, c_usd, c_cnt, c_max, self._series.n)
            rows = self._hours.get(hour)
            if rows is None:
                rows = self._hours[hour] = HourRows()
            was_merged = rows.merged == rows.n
            first = minute[part] - hour * HOUR_MS
            off = (first // MINUTE_MS).astype(np.int16)
            # A bucket's largest liquidation happened inside its minute: clipping keeps a
            # malformed max_ts from overflowing the 32-bit offset.
            at = np.clip(c_ts - hour * HOUR_MS, first, first + MINUTE_MS - 1).astype(np.int32)
            rows.append(off, sid, c_usd, c_cnt, c_max, at, c_sym)
            if fresh and was_merged:
                # Stored rows are unique per key (and merging is only an optimisation), so a
                # load continuing a merged hour needs no compaction unless it broke the order.
                rows.merged = rows.n
                if rows.ordered < rows.n:
                    rows.compact()
            else:
                self._hot.add(hour)
                if rows.n > 2 * rows.merged + 2048:
                    rows.compact()
        if h_max > self._newest:
            self._newest = h_max
            # Hours two or more behind the newest rarely change again: merge and trim them.
            for h in [h for h in self._hot if h < h_max - 1]:
                self._hot.discard(h)
                self._hours[h].compact()

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
import time
from collections.abc import Iterable, Mapping, Sequence
from functools import partial
from typing import Any

import numpy as np
import numpy.typing as npt

from bot.coverage import VenueCoverage
from bot.events import HOUR_MS, LONG, MINUTE_MS, SHORT
from bot.totals_result import (
    CoinTotals,
    ExchangeTotals,
    Largest,
    Totals,
    window_bounds,
    window_name,
)
from bot.totals_store import F8, I8, HourGrid, HourRows
from storage.buckets import BucketDelta, BucketKey, BucketRow

Mask = npt.NDArray[np.bool_]
Best = tuple[float, int, int, int]  # (usd, ts_ms, series id, symbol id)

_SIDE_ID = {LONG: 0, SHORT: 1}
_SIDE_NAME = (LONG, SHORT)
_LOAD_BATCH = 200_000
# tuple.__new__ bound to the class runs in C; a 24 h answer builds hundreds of these.
_new_coin_totals = partial(tuple.__new__, CoinTotals)


class TotalsIndex:
    """In-memory, numpy-backed index of minute buckets (everything fed is summed).

    Feed it ``load(rows)`` at start-up (``storage.buckets.read_buckets`` rows) and
    ``apply(deltas)`` after each committed batch; ``drop_before(ms)`` bounds memory.
    Applying the same delta twice counts it twice. Not thread-safe: use it from one thread.
    """

    def __init__(self) -> None:
        self._series_of: dict[tuple[str, str, str], int] = {}  # as fed -> id
        self._canonical: dict[tuple[str, str, str], int] = {}  # normalised case -> id
        self._venues: list[str] = []
        self._venue_id: dict[str, int] = {}
        self._coins: list[str] = []
        self._coin_id: dict[str, int] = {}
        self._symbols: list[str] = []
        self._symbol_id: dict[str, int] = {}
        self._n = 0
        self._venue_of: I8 = np.zeros(0, np.int64)
        self._coin_of: I8 = np.zeros(0, np.int64)
        self._side_of: I8 = np.zeros(0, np.int64)
        self._grid = HourGrid()
        self._hours: dict[int, HourRows] = {}
        self._hot: set[int] = set()  # hours apply() appended to since their last compaction
        self._newest = -(1 << 62)
        self._floor: int | None = None  # hours before this were dropped
        self.ignored = 0  # bucket rows ignored because they fell before a drop_before cut

    @property
    def series(self) -> int:
        """Number of distinct (venue, coin, side) series seen."""
        return self._n

    def nbytes(self) -> int:
        """Bytes held by numpy arrays (hour grid plus minute rows)."""
        return self._grid.nbytes() + sum(r.nbytes() for r in self._hours.values())

    # ----- feeding -------------------------------------------------------------------------

    def apply(self, deltas: Mapping[BucketKey, BucketDelta]) -> None:
        """Add committed bucket deltas (any minutes, late ones included)."""
        if not deltas:
            return
        series_of, symbol_id = self._series_of, self._symbol_id
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
            sids.append(self._new_series(sk) if s is None else s)
            usds.append(d.usd)
            counts.append(d.count)
            maxes.append(d.max_usd)
            max_ts.append(d.max_ts)
            y = symbol_id.get(d.max_symbol)
            syms.append(_intern(d.max_symbol, self._symbols, symbol_id) if y is None else y)
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
            series_of, symbol_id = self._series_of, self._symbol_id
            sids = []
            for sk in zip(venue, coin, side, strict=True):
                s = series_of.get(sk)
                sids.append(self._new_series(sk) if s is None else s)
            syms = []
            for y in symbol:
                i = symbol_id.get(y)
                syms.append(_intern(y, self._symbols, symbol_id) if i is None else i)
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
            at = int(time.time() * 1000)
        start, end = window_bounds(window_ms, at)
        sel = self._selection(coin, venues)
        usd = np.zeros(self._n, np.float64)
        cnt = np.zeros(self._n, np.float64)
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
        return self._assemble(window_ms, start, end, coin, venues, usd, cnt, best, coverage)

    def _selection(self, coin: str | None, venues: Sequence[str] | None) -> Mask | None:
        if coin is None and venues is None:
            return None
        n = self._n
        sel = np.ones(n, np.bool_)
        if coin is not None:
            sel &= self._coin_of[:n] == self._coin_id.get(coin.upper(), -1)
        if venues is not None:
            vids = [self._venue_id[v] for v in (x.lower() for x in venues) if v in self._venue_id]
            sel &= np.isin(self._venue_of[:n], vids)
        return sel

    def _sum_hours(
        self, hour_lo: int, hour_hi: int, sel: Mask | None, usd: F8, cnt: F8, best: list[Best]
    ) -> None:
        g, n = self._grid, self._n
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
            usd += np.bincount(sid, weights=usd_p, minlength=self._n)
            cnt += np.bincount(sid, weights=cnt_p, minlength=self._n)
            j = int(np.argmax(max_p))
            if sel is not None:
                j = int(pos[j])
            i = part.start + j if isinstance(part, slice) else int(part[j])
            ts = hour * HOUR_MS + int(rows.max_at[i])
            best.append((float(rows.max_usd[i]), ts, int(rows.sid[i]), int(rows.sym[i])))

    def _assemble(
        self,
        window_ms: int,
        start: int,
        end: int,
        coin: str | None,
        venues: Sequence[str] | None,
        usd: F8,
        cnt: F8,
        best: list[Best],
        coverage: Mapping[str, VenueCoverage] | None,
    ) -> Totals:
        n, nv, nc = self._n, len(self._venues), len(self._coins)
        side = self._side_of[:n]
        vkey = self._venue_of[:n] * 2 + side
        ckey = self._coin_of[:n] * 2 + side
        v_usd = np.bincount(vkey, weights=usd, minlength=2 * nv).reshape(nv, 2)
        v_cnt = np.rint(np.bincount(vkey, weights=cnt, minlength=2 * nv)).astype(np.int64)
        c_usd = np.bincount(ckey, weights=usd, minlength=2 * nc).reshape(nc, 2)
        c_cnt = np.rint(np.bincount(ckey, weights=cnt, minlength=2 * nc)).astype(np.int64)
        c_cnt = c_cnt.reshape(nc, 2)

        listed = self._venues if venues is None else list(dict.fromkeys(v.lower() for v in venues))
        v_rows = np.column_stack((v_usd, v_cnt.reshape(nv, 2))).tolist()
        zero = (0.0, 0.0, 0, 0)
        by_exchange: dict[str, ExchangeTotals] = {}
        for name in listed:
            i = self._venue_id.get(name)
            lu, su, lc, sc = zero if i is None else v_rows[i]
            by_exchange[name] = ExchangeTotals(lu, su, int(lc), int(sc))

        if coin is not None:
            cid = self._coin_id.get(coin.upper())
            active = np.array([] if cid is None else [cid], np.int64)
        else:
            active = np.flatnonzero(c_cnt.sum(axis=1))
        coins = self._coins
        names = [coins[i] for i in active.tolist()]
        by_coin = dict(
            zip(
                names,
                map(
                    _new_coin_totals,
                    zip(
                        c_usd[active, 0].tolist(),
                        c_usd[active, 1].tolist(),
                        c_cnt[active, 0].tolist(),
                        c_cnt[active, 1].tolist(),
                        strict=True,
                    ),
                ),
                strict=True,
            )
        )
        if coin is not None and not by_coin:
            by_coin[coin.upper()] = CoinTotals(0.0, 0.0, 0, 0)

        largest = None
        if best:
            top, ts, s, y = min(best, key=lambda b: (-b[0], b[1]))
            largest = Largest(
                exchange=self._venues[int(self._venue_of[s])],
                coin=coins[int(self._coin_of[s])],
                side=_SIDE_NAME[int(side[s])],
                usd=top,
                ts_ms=ts,
                symbol=self._symbols[y],
            )
        long_usd, short_usd = v_usd.sum(axis=0).tolist() if nv else (0.0, 0.0)
        long_count, short_count = v_cnt.reshape(nv, 2).sum(axis=0).tolist() if nv else (0, 0)
        return Totals(
            window=window_name(window_ms),
            start_ms=start,
            end_ms=end,
            long_usd=long_usd,
            short_usd=short_usd,
            long_count=long_count,
            short_count=short_count,
            by_exchange=by_exchange,
            by_coin=by_coin,
            largest=largest,
            coverage=dict(coverage) if coverage else {},
        )

    # ----- internals -----------------------------------------------------------------------

    def _new_series(self, key: tuple[str, str, str]) -> int:
        venue, coin, side = key[0].lower(), key[1].upper(), key[2].lower()
        if side not in _SIDE_ID:
            raise ValueError(f"unknown side {key[2]!r} (expected long or short)")
        s = self._canonical.get((venue, coin, side))
        if s is None:
            s = self._canonical[(venue, coin, side)] = self._n
            if s >= len(self._venue_of):
                cap = s + max(64, s // 4)
                self._venue_of = _grown(self._venue_of, cap)
                self._coin_of = _grown(self._coin_of, cap)
                self._side_of = _grown(self._side_of, cap)
            self._venue_of[s] = _intern(venue, self._venues, self._venue_id)
            self._coin_of[s] = _intern(coin, self._coins, self._coin_id)
            self._side_of[s] = _SIDE_ID[side]
            self._n = s + 1
        self._series_of[key] = s
        return s

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
        self._grid.ensure(h_min, h_max, self._n)
        if h_min == h_max:
            groups = [(h_min, slice(None))]
        else:
            order = np.argsort(hours, kind="stable")  # keeps minute order within an hour
            minute, hours, cols = minute[order], hours[order], [c[order] for c in cols]
            cuts = [0, *(np.flatnonzero(np.diff(hours)) + 1).tolist(), len(hours)]
            groups = [(int(hours[a]), slice(a, b)) for a, b in itertools.pairwise(cuts)]
        for hour, part in groups:
            sid, c_usd, c_cnt, c_max, c_ts, c_sym = (c[part] for c in cols)
            self._grid.add(hour, sid, c_usd, c_cnt, c_max, self._n)
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


def _intern(name: str, names: list[str], ids: dict[str, int]) -> int:
    i = ids.get(name)
    if i is None:
        i = ids[name] = len(names)
        names.append(name)
    return i


def _grown(a: I8, cap: int) -> I8:
    out = np.zeros(cap, a.dtype)
    out[: len(a)] = a
    return out

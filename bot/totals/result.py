"""The answer to a rolling-totals query, its window arithmetic and its JSON shape.

Windows are whole minutes: the end is rounded UP to a minute boundary, start = end - window,
and a liquidation counts when ``start <= ts_ms < end``. USD values stay floats here; rounding
belongs to presentation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from bot.domain import MINUTE_MS, WINDOWS
from bot.totals.coverage import VenueCoverage
from bot.totals.series import SIDE_NAME, SeriesTable

F8 = npt.NDArray[np.float64]
Best = tuple[float, int, int, int]
"""A candidate for the largest liquidation: (usd, ts_ms, series id, symbol id)."""

_DAY_MS = 24 * 60 * MINUTE_MS


def window_bounds(window_ms: int, at_ms: int) -> tuple[int, int]:
    """``(start_ms, end_ms)`` of the whole-minute window of ``window_ms`` ending at ``at_ms``.

    ``at_ms`` is rounded up to a minute boundary (unchanged when already on one).
    """
    if window_ms <= 0 or window_ms % MINUTE_MS:
        raise ValueError(f"window must be a positive whole number of minutes, got {window_ms} ms")
    end = -(-at_ms // MINUTE_MS) * MINUTE_MS
    return end - window_ms, end


def window_name(window_ms: int) -> str:
    """The user-facing name: a standard window's key ("24h"), else e.g. "90m", "2h", "3d"."""
    for name, ms in WINDOWS.items():
        if ms == window_ms:
            return name
    if window_ms % _DAY_MS == 0:
        return f"{window_ms // _DAY_MS}d"
    if window_ms % (60 * MINUTE_MS) == 0:
        return f"{window_ms // (60 * MINUTE_MS)}h"
    return f"{window_ms // MINUTE_MS}m"


class SideTotals(NamedTuple):
    """USD and liquidation counts split by the liquidated position's side.

    A named tuple: a 24 h answer builds one per active coin (hundreds), and a tuple is
    several times cheaper to create than a frozen dataclass.
    """

    long_usd: float
    short_usd: float
    long_count: int
    short_count: int

    @property
    def total_usd(self) -> float:
        """Long plus short USD."""
        return self.long_usd + self.short_usd

    @property
    def count(self) -> int:  # type: ignore[override]
        """Long plus short liquidations (shadows tuple.count on purpose)."""
        return self.long_count + self.short_count

    def to_json(self) -> dict[str, Any]:
        """Exactly ``{total_usd, long_usd, short_usd, count}``."""
        return {
            "total_usd": self.total_usd,
            "long_usd": self.long_usd,
            "short_usd": self.short_usd,
            "count": self.count,
        }


class ExchangeTotals(SideTotals):
    """One venue's share of a window."""

    __slots__ = ()


class CoinTotals(SideTotals):
    """One coin's share of a window, all venues together."""

    __slots__ = ()


@dataclass(slots=True, frozen=True)
class Largest:
    """The largest single liquidation of a window (from per-minute bucket maxima)."""

    exchange: str
    coin: str
    side: str
    usd: float
    ts_ms: int
    symbol: str

    def to_json(self) -> dict[str, Any]:
        """Exactly ``{exchange, coin, side, usd, ts_ms}``."""
        return {
            "exchange": self.exchange,
            "coin": self.coin,
            "side": self.side,
            "usd": self.usd,
            "ts_ms": self.ts_ms,
        }


@dataclass(slots=True, frozen=True, kw_only=True)
class Totals:
    """Rolling totals of one window (all coins, or one coin when the query named it).

    The side split covers the whole window; ``by_exchange`` maps lower-case venue names,
    ``by_coin`` upper-case coins (only coins with liquidations in the window, or exactly the
    asked coin); ``coverage`` maps each enabled venue to its coverage when the caller
    supplied uptime, else it is empty.
    """

    window: str
    start_ms: int
    end_ms: int
    long_usd: float
    short_usd: float
    long_count: int
    short_count: int
    by_exchange: Mapping[str, ExchangeTotals]
    by_coin: Mapping[str, CoinTotals]
    largest: Largest | None
    coverage: Mapping[str, VenueCoverage] = field(default_factory=dict)

    @property
    def total_usd(self) -> float:
        """All USD in the window."""
        return self.long_usd + self.short_usd

    @property
    def count(self) -> int:
        """Number of liquidations."""
        return self.long_count + self.short_count

    def top_coins(self, n: int) -> list[tuple[str, CoinTotals]]:
        """The ``n`` coins with the most USD liquidated, largest first (ties by name)."""
        ranked = sorted(self.by_coin.items(), key=lambda kv: (-kv[1].total_usd, kv[0]))
        return ranked[: max(n, 0)]

    def to_json(self) -> dict[str, Any]:
        """The contract's JSON object (exactly its keys, nothing more)."""
        return {
            "window": self.window,
            "start_ms": self.start_ms,
            "end_ms": self.end_ms,
            "total_usd": self.total_usd,
            "long_usd": self.long_usd,
            "short_usd": self.short_usd,
            "count": self.count,
            "by_exchange": {k: v.to_json() for k, v in self.by_exchange.items()},
            "by_coin": {k: v.to_json() for k, v in self.by_coin.items()},
            "largest": None if self.largest is None else self.largest.to_json(),
            "coverage": {k: v.to_json() for k, v in self.coverage.items()},
        }


@dataclass(slots=True, frozen=True)
class MinuteSeries:
    """USD liquidated per minute of a window, by side: ``long_usd[i]`` and ``short_usd[i]``
    cover ``[start_ms + i min, start_ms + (i + 1) min)`` (the data of charts)."""

    start_ms: int
    long_usd: tuple[float, ...]
    short_usd: tuple[float, ...]

    @property
    def minutes(self) -> int:
        """Number of minutes in the series (the window's length)."""
        return len(self.long_usd)

    def total_usd(self) -> list[float]:
        """Both sides per minute."""
        return [a + b for a, b in zip(self.long_usd, self.short_usd, strict=True)]


# tuple.__new__ bound to the class runs in C; a 24 h answer builds hundreds of these.
_new_coin_totals = partial(tuple.__new__, CoinTotals)


def assemble_totals(
    series: SeriesTable,
    window_ms: int,
    bounds: tuple[int, int],
    coin: str | None,
    venues: Sequence[str] | None,
    usd: F8,
    cnt: F8,
    best: Sequence[Best],
    coverage: Mapping[str, VenueCoverage] | None,
) -> Totals:
    """Build the answer from per-series window sums (``usd``, ``cnt`` indexed by series id).

    ``by_exchange`` lists ``venues`` (else every venue seen), ``by_coin`` the coins with
    liquidations (or exactly ``coin``); the largest is the biggest candidate in ``best``,
    the earliest on a tie.
    """
    nv, nc = len(series.venues), len(series.coins)
    side = series.side_of
    vkey = series.venue_of * 2 + side
    ckey = series.coin_of * 2 + side
    v_usd = np.bincount(vkey, weights=usd, minlength=2 * nv).reshape(nv, 2)
    v_cnt = np.rint(np.bincount(vkey, weights=cnt, minlength=2 * nv)).astype(np.int64)
    v_cnt = v_cnt.reshape(nv, 2)
    c_usd = np.bincount(ckey, weights=usd, minlength=2 * nc).reshape(nc, 2)
    c_cnt = np.rint(np.bincount(ckey, weights=cnt, minlength=2 * nc)).astype(np.int64)
    c_cnt = c_cnt.reshape(nc, 2)

    listed = series.venues if venues is None else list(dict.fromkeys(v.lower() for v in venues))
    v_rows = np.column_stack((v_usd, v_cnt)).tolist()
    by_exchange: dict[str, ExchangeTotals] = {}
    for name in listed:
        i = series.venue_id.get(name)
        lu, su, lc, sc = (0.0, 0.0, 0, 0) if i is None else v_rows[i]
        by_exchange[name] = ExchangeTotals(lu, su, int(lc), int(sc))

    if coin is not None:
        cid = series.coin_id.get(coin.upper())
        active = np.array([] if cid is None else [cid], np.int64)
    else:
        active = np.flatnonzero(c_cnt.sum(axis=1))
    names = [series.coins[i] for i in active.tolist()]
    split = zip(
        c_usd[active, 0].tolist(),
        c_usd[active, 1].tolist(),
        c_cnt[active, 0].tolist(),
        c_cnt[active, 1].tolist(),
        strict=True,
    )
    by_coin: dict[str, CoinTotals] = dict(zip(names, map(_new_coin_totals, split), strict=True))
    if coin is not None and not by_coin:
        by_coin[coin.upper()] = CoinTotals(0.0, 0.0, 0, 0)

    largest = None
    if best:
        top, ts, s, y = min(best, key=lambda b: (-b[0], b[1]))
        largest = Largest(
            exchange=series.venues[int(series.venue_of[s])],
            coin=series.coins[int(series.coin_of[s])],
            side=SIDE_NAME[int(side[s])],
            usd=top,
            ts_ms=ts,
            symbol=series.symbols[y],
        )
    long_usd, short_usd = v_usd.sum(axis=0).tolist() if nv else (0.0, 0.0)
    long_count, short_count = v_cnt.sum(axis=0).tolist() if nv else (0, 0)
    return Totals(
        window=window_name(window_ms),
        start_ms=bounds[0],
        end_ms=bounds[1],
        long_usd=long_usd,
        short_usd=short_usd,
        long_count=long_count,
        short_count=short_count,
        by_exchange=by_exchange,
        by_coin=by_coin,
        largest=largest,
        coverage=dict(coverage) if coverage else {},
    )

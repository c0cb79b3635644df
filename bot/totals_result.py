"""The answer to a rolling-totals query, its window arithmetic and its JSON shape.

Windows are whole minutes: the end is rounded UP to a minute boundary, start = end - window,
and a liquidation counts when ``start <= ts_ms < end``. USD values stay floats here; rounding
belongs to presentation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from bot.coverage import VenueCoverage
from bot.events import MINUTE_MS, WINDOWS

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

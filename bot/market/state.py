"""The latest funding / open interest per venue symbol, and history through storage.

``MarketState`` is fed by the poller after each cycle and read by the bot (/funding, /oi,
funding alerts, the alert context). A snapshot older than ``stale_after_ms`` (about three
poll intervals) is stale: it is kept but no longer counts in ``coin``/``coins``, so a
venue that stopped answering drops out instead of showing old figures as current.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from sqlite_utils import Database

from bot.clock import now_ms
from bot.domain import HOUR_MS, CoinMarket, MarketSnapshot, coin_market
from bot.market.records import CoinChange, oi_change, price_change
from storage.db import DbThread
from storage.market import poll_times, read_coin_at, read_market_at, resolution_at

# Snapshots stale for this long are forgotten (delisted symbols, a venue switched off).
FORGET_MS = 24 * HOUR_MS


class MarketState:
    """In-memory latest snapshot per (venue, symbol), indexed by coin."""

    def __init__(
        self,
        dbt: DbThread | None,
        poll_interval_s: float,
        *,
        stale_polls: float = 3.0,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self.stale_after_ms = int(poll_interval_s * 1000 * stale_polls)
        self._dbt = dbt
        self._clock = clock
        self._by_coin: dict[str, dict[tuple[str, str], MarketSnapshot]] = {}
        self._newest_ms: int | None = None

    def apply(self, snapshots: Iterable[MarketSnapshot]) -> None:
        """Take each snapshot as its (venue, symbol)'s latest unless an equal or newer one
        is already held; forget snapshots stale for a day."""
        for s in snapshots:
            held = self._by_coin.setdefault(s.coin, {})
            key = (s.venue, s.symbol)
            old = held.get(key)
            if old is None or old.ts_ms <= s.ts_ms:
                held[key] = s
            if self._newest_ms is None or s.ts_ms > self._newest_ms:
                self._newest_ms = s.ts_ms
        cutoff = self._clock() - FORGET_MS
        for coin in [c for c, held in self._by_coin.items() if _newest(held) < cutoff]:
            del self._by_coin[coin]

    def is_fresh(self, ts_ms: int, now_ms: int | None = None) -> bool:
        """True when data from ``ts_ms`` is not stale at ``now_ms`` (default: now)."""
        now = self._clock() if now_ms is None else now_ms
        return now - ts_ms <= self.stale_after_ms

    def snapshots(self, coin: str, now_ms: int | None = None) -> list[MarketSnapshot]:
        """The coin's fresh venue snapshots (any order)."""
        now = self._clock() if now_ms is None else now_ms
        held = self._by_coin.get(coin.upper(), {})
        return [s for s in held.values() if now - s.ts_ms <= self.stale_after_ms]

    def coin(self, coin: str, now_ms: int | None = None) -> CoinMarket | None:
        """The coin across venues from its fresh snapshots; None when unknown or stale
        everywhere (``age_ms`` tells which)."""
        fresh = self.snapshots(coin, now_ms)
        if not fresh:
            return None
        return coin_market(coin.upper(), max(s.ts_ms for s in fresh), fresh)

    def coins(self, now_ms: int | None = None) -> list[CoinMarket]:
        """Every coin with fresh data, largest open interest first (coins without open
        interest last, by name)."""
        out = [m for c in self._by_coin if (m := self.coin(c, now_ms)) is not None]
        out.sort(key=lambda m: (-(m.oi_usd or 0.0), m.coin))
        return out

    def known(self, coin: str) -> bool:
        """True when any venue listed the coin in the last day (even if stale now)."""
        return coin.upper() in self._by_coin

    def age_ms(
        self, coin: str | None = None, venue: str | None = None, now_ms: int | None = None
    ) -> int | None:
        """Milliseconds since the newest snapshot (of ``coin`` and/or ``venue`` if given);
        None when there is none."""
        now = self._clock() if now_ms is None else now_ms
        if coin is None and venue is None:
            return None if self._newest_ms is None else now - self._newest_ms
        groups = self._by_coin.values() if coin is None else [self._by_coin.get(coin.upper(), {})]
        times = [
            s.ts_ms for held in groups for s in held.values() if venue is None or s.venue == venue
        ]
        return now - max(times) if times else None

    def _history_limits(self, ts_ms: int, now: int) -> tuple[int, int]:
        """(max gap to the poll before ``ts_ms``, fill window) for stored history, which
        is thinned with age (storage.market.THINNING)."""
        fill = self.stale_after_ms
        return resolution_at(now - ts_ms) + fill, fill

    async def coin_at(self, coin: str, ts_ms: int) -> CoinMarket | None:
        """The coin as stored at the last poll at or before ``ts_ms``; None when there was
        no poll close enough before (missing or stale data at that time)."""
        if self._dbt is None:
            return None
        gap, fill = self._history_limits(ts_ms, self._clock())
        return await self._dbt.run(read_coin_at, coin.upper(), ts_ms, gap, fill)

    async def coin_since(self, coin: str, start_ms: int, end_ms: int) -> CoinMarket | None:
        """The coin at the window's start (the last poll at or before ``start_ms``, as
        ``coin_at``) or, when no poll that close was stored (a fresh install, a gap in
        the polls), at the first poll inside ``[start_ms, end_ms)`` that has it; None
        when neither exists."""
        if self._dbt is None:
            return None
        gap, fill = self._history_limits(start_ms, self._clock())
        return await self._dbt.run(_coin_since, coin.upper(), start_ms, end_ms, gap, fill)

    async def changes(self, window_ms: int, now_ms: int | None = None) -> list[CoinChange]:
        """Per coin, open interest and price change from ``window_ms`` ago to now, over the
        venue symbols present at both times; coins missing at either end are left out.
        Sorted by open-interest change, biggest drop first (None last)."""
        if self._dbt is None:
            return []
        now = self._clock() if now_ms is None else now_ms
        then = now - window_ms
        gap, fill = self._history_limits(then, now)
        before = await self._dbt.run(read_market_at, then, gap, fill)
        out = []
        for current in self.coins(now):
            old = before.get(current.coin)
            if old is not None:
                out.append(
                    CoinChange(
                        coin=current.coin,
                        before=old,
                        now=current,
                        oi_change=oi_change(old, current),
                        price_change=price_change(old, current),
                    )
                )
        out.sort(key=lambda c: (c.oi_change is None, c.oi_change or 0.0, c.coin))
        return out

    async def load(self, now_ms: int | None = None) -> int:
        """Warm start from the last stored poll (if still fresh); returns snapshots taken."""
        if self._dbt is None:
            return 0
        now = self._clock() if now_ms is None else now_ms
        stored = await self._dbt.run(read_market_at, now, self.stale_after_ms, self.stale_after_ms)
        snaps = [s for m in stored.values() for s in m.venues]
        self.apply(snaps)
        return len(snaps)


def _coin_since(
    db: Database, coin: str, start_ms: int, end_ms: int, gap_ms: int, fill_ms: int
) -> CoinMarket | None:
    """``MarketState.coin_since`` on the database thread: each candidate poll is one key
    lookup, and the first poll inside the window almost always has the coin."""
    found = read_coin_at(db, coin, start_ms, gap_ms, fill_ms)
    if found is not None:
        return found
    for ts in poll_times(db, start_ms + 1, end_ms):
        found = read_coin_at(db, coin, ts, 0, fill_ms)
        if found is not None:
            return found
    return None


def _newest(held: dict[tuple[str, str], MarketSnapshot]) -> int:
    return max((s.ts_ms for s in held.values()), default=0)

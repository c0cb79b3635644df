"""Funding / open-interest history: one row per venue symbol and per coin for each poll.

Every row of a poll carries the poll's time (``market_polls``). Reading "the market at T"
takes the poll nearest before T and, for each venue symbol, its latest row within
``fill_ms`` before that poll, so a venue that failed one poll still counts with the data
it gave a moment earlier. Kept 30 days; polls older than 6 h are thinned to one per
5 minutes and older than 48 h to one per hour: ~1,500 polls of ~120 KB (1,400 venue
symbols, 750 coins) instead of 43,200 (~5 GB) for a month of one-minute polls.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from bot.domain import HOUR_MS, MINUTE_MS, CoinMarket, MarketSnapshot, coin_market

DAY_MS = 24 * HOUR_MS
KEEP_MS = 30 * DAY_MS
THINNING: tuple[tuple[int, int], ...] = ((6 * HOUR_MS, 5 * MINUTE_MS), (48 * HOUR_MS, HOUR_MS))
"""(age, resolution): polls older than ``age`` keep one per ``resolution`` (the first),
youngest tier first."""

CoinRow = tuple[str, float | None, float | None, float | None]
"""(coin, oi_usd, funding_8h, mark_price) of one coin at one poll."""

_SNAPSHOT_COLUMNS = (
    "s.ts_ms, m.venue, m.symbol, m.coin, s.funding_rate, s.interval_h, s.next_funding_ms,"
    " s.mark_price, s.oi_base, s.oi_usd, s.predicted, s.settled_rate"
)


@dataclass(frozen=True, slots=True)
class PruneStats:
    """What one ``prune_market`` removed: polls thinned to hourly and polls expired."""

    thinned: int
    expired: int


def _symbol_ids(
    conn: sqlite3.Connection, snapshots: Sequence[MarketSnapshot]
) -> dict[tuple[str, str], int]:
    """Id per (venue, symbol), registering symbols seen for the first time."""
    ids = {(v, s): i for i, v, s in conn.execute("SELECT id, venue, symbol FROM market_symbols")}
    for x in snapshots:
        if (x.venue, x.symbol) not in ids:
            cursor = conn.execute(
                "INSERT INTO market_symbols (venue, symbol, coin) VALUES (?, ?, ?)",
                (x.venue, x.symbol, x.coin),
            )
            assert cursor.lastrowid is not None
            ids[(x.venue, x.symbol)] = cursor.lastrowid
    return ids


def write_market(
    db: Database,
    ts_ms: int,
    snapshots: Sequence[MarketSnapshot],
    coins: Sequence[CoinMarket],
) -> None:
    """Store one poll at ``ts_ms``: the venue symbols it returned and every coin's
    aggregate, in ONE transaction (a crash never leaves half a poll)."""
    conn = db.conn
    with db.atomic():
        ids = _symbol_ids(conn, snapshots)
        conn.execute(
            "INSERT OR REPLACE INTO market_polls (ts_ms, symbols, coins) VALUES (?, ?, ?)",
            (ts_ms, len(snapshots), len(coins)),
        )
        conn.executemany(
            "INSERT OR REPLACE INTO market_snapshots (ts_ms, symbol_id, funding_rate,"
            " interval_h, next_funding_ms, mark_price, oi_base, oi_usd, predicted,"
            " settled_rate) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    ts_ms,
                    ids[(s.venue, s.symbol)],
                    s.funding_rate,
                    s.funding_interval_h,
                    s.next_funding_ms,
                    s.mark_price,
                    s.oi_base,
                    s.oi_usd,
                    1 if s.predicted else 0,
                    s.settled_rate,
                )
                for s in snapshots
            ],
        )
        conn.executemany(
            "INSERT OR REPLACE INTO market_coins (coin, ts_ms, oi_usd, funding_8h, mark_price)"
            " VALUES (?, ?, ?, ?, ?)",
            [(c.coin, ts_ms, c.oi_usd, c.funding_8h, c.mark_price) for c in coins],
        )


def _snapshot(row: tuple[Any, ...]) -> MarketSnapshot:
    ts, venue, symbol, coin, rate, interval, next_ms, mark, oi_base, oi_usd, pred, settled = row
    return MarketSnapshot(
        venue=venue,
        symbol=symbol,
        coin=coin,
        ts_ms=ts,
        funding_rate=rate,
        funding_interval_h=interval,
        next_funding_ms=next_ms,
        mark_price=mark,
        oi_base=oi_base,
        oi_usd=oi_usd,
        predicted=bool(pred),
        settled_rate=settled,
    )


def _latest_per_symbol(rows: Iterable[tuple[Any, ...]]) -> dict[str, list[MarketSnapshot]]:
    """Rows newest first -> per coin, each venue symbol's newest snapshot."""
    seen: set[tuple[str, str]] = set()
    by_coin: dict[str, list[MarketSnapshot]] = {}
    for row in rows:
        key = (row[1], row[2])
        if key in seen:
            continue
        seen.add(key)
        snap = _snapshot(row)
        by_coin.setdefault(snap.coin, []).append(snap)
    return by_coin


def _poll_before(db: Database, ts_ms: int, max_gap_ms: int) -> int | None:
    """The last stored poll at or before ``ts_ms``, if at most ``max_gap_ms`` before it."""
    row = db.execute("SELECT max(ts_ms) FROM market_polls WHERE ts_ms <= ?", (ts_ms,)).fetchone()
    t0: int | None = row[0] if row else None
    return None if t0 is None or ts_ms - t0 > max_gap_ms else t0


def read_coin_at(
    db: Database, coin: str, ts_ms: int, max_gap_ms: int, fill_ms: int
) -> CoinMarket | None:
    """The coin at the last poll at or before ``ts_ms`` (if that poll is at most
    ``max_gap_ms`` before ``ts_ms``); ``None`` when there is no such poll or the coin had
    no fresh data at it."""
    t0 = _poll_before(db, ts_ms, max_gap_ms)
    if t0 is None:
        return None
    if (
        db.execute(
            "SELECT 1 FROM market_coins WHERE ts_ms = ? AND coin = ?", (t0, coin)
        ).fetchone()
        is None
    ):
        return None
    rows = db.execute(
        f"SELECT {_SNAPSHOT_COLUMNS} FROM market_snapshots s"
        " JOIN market_symbols m ON m.id = s.symbol_id"
        " WHERE s.ts_ms > ? AND s.ts_ms <= ?"
        " AND s.symbol_id IN (SELECT id FROM market_symbols WHERE coin = ?)"
        " ORDER BY s.ts_ms DESC",
        (t0 - fill_ms, t0, coin),
    ).fetchall()
    snaps = _latest_per_symbol(rows).get(coin)
    return coin_market(coin, t0, snaps) if snaps else None


def read_market_at(
    db: Database, ts_ms: int, max_gap_ms: int, fill_ms: int
) -> dict[str, CoinMarket]:
    """Every coin at the last poll at or before ``ts_ms`` (empty when that poll is more
    than ``max_gap_ms`` before ``ts_ms`` or there is none)."""
    t0 = _poll_before(db, ts_ms, max_gap_ms)
    if t0 is None:
        return {}
    rows = db.execute(
        f"SELECT {_SNAPSHOT_COLUMNS} FROM market_snapshots s"
        " JOIN market_symbols m ON m.id = s.symbol_id"
        " WHERE s.ts_ms > ? AND s.ts_ms <= ? ORDER BY s.ts_ms DESC",
        (t0 - fill_ms, t0),
    ).fetchall()
    return {c: coin_market(c, t0, snaps) for c, snaps in _latest_per_symbol(rows).items()}


def read_coins(db: Database, ts_ms: int) -> list[CoinRow]:
    """The per-coin aggregates stored for the poll at exactly ``ts_ms``."""
    rows: list[CoinRow] = db.execute(
        "SELECT coin, oi_usd, funding_8h, mark_price FROM market_coins WHERE ts_ms = ?"
        " ORDER BY coin",
        (ts_ms,),
    ).fetchall()
    return rows


def poll_times(db: Database, start_ms: int = 0, end_ms: int = 2**62) -> list[int]:
    """Times of the stored polls in ``[start_ms, end_ms)``, oldest first."""
    return [
        t
        for (t,) in db.execute(
            "SELECT ts_ms FROM market_polls WHERE ts_ms >= ? AND ts_ms < ? ORDER BY ts_ms",
            (start_ms, end_ms),
        )
    ]


def resolution_at(age_ms: int, thinning: Sequence[tuple[int, int]] = THINNING) -> int:
    """Spacing of stored polls ``age_ms`` old once pruned (0: every poll kept)."""
    step = 0
    for age, resolution in thinning:
        if age_ms > age:
            step = resolution
    return step


def prune_market(
    db: Database,
    now_ms: int,
    keep_ms: int = KEEP_MS,
    thinning: Sequence[tuple[int, int]] = THINNING,
) -> PruneStats:
    """Delete polls older than ``keep_ms`` and thin older ones to the first poll of each
    UTC bucket of their tier's resolution (``THINNING``), in one transaction. Run hourly;
    idempotent. The first poll of an hour is also the first of its 5-minute bucket, so a
    poll kept by one tier is kept by the next."""
    expire_before = now_ms - keep_ms
    thin_before = now_ms - min((age for age, _ in thinning), default=keep_ms)
    expired: list[int] = []
    thinned: list[int] = []
    kept: set[tuple[int, int]] = set()
    with db.atomic():
        for t in poll_times(db, 0, thin_before):
            step = resolution_at(now_ms - t, thinning)
            if t < expire_before:
                expired.append(t)
            elif (step, t // step) in kept:
                thinned.append(t)
            else:
                kept.add((step, t // step))
        gone = [(t,) for t in expired + thinned]
        conn = db.conn
        conn.executemany("DELETE FROM market_snapshots WHERE ts_ms = ?", gone)
        conn.executemany("DELETE FROM market_coins WHERE ts_ms = ?", gone)
        conn.executemany("DELETE FROM market_polls WHERE ts_ms = ?", gone)
    return PruneStats(thinned=len(thinned), expired=len(expired))

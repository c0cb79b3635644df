"""Funding / open-interest history: one row per venue symbol and per coin for each poll.

Every row of a poll carries the poll's time (``market_polls``). Reading "the market at T"
takes the poll nearest before T and, for each venue symbol, its latest row within
``fill_ms`` before that poll, so a venue that failed one poll still counts with the data
it gave a moment earlier. Kept 30 days; older than 48 h thinned to one poll per hour.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from bot.events import HOUR_MS
from bot.market.records import CoinMarket, MarketSnapshot, coin_market

DAY_MS = 24 * HOUR_MS
KEEP_MS = 30 * DAY_MS
DENSE_MS = 48 * HOUR_MS

CoinRow = tuple[int, float | None, float | None, float | None]
"""(ts_ms, oi_usd, funding_8h, mark_price) of one coin at one poll."""

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
            "INSERT OR REPLACE INTO market_snapshots VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
            "INSERT OR REPLACE INTO market_coins VALUES (?, ?, ?, ?, ?)",
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


def read_coin_at(
    db: Database, coin: str, ts_ms: int, max_gap_ms: int, fill_ms: int
) -> CoinMarket | None:
    """The coin at the last poll at or before ``ts_ms`` that had it, if that poll is at
    most ``max_gap_ms`` before ``ts_ms``; ``None`` otherwise (no data near that time)."""
    row = db.execute(
        "SELECT max(ts_ms) FROM market_coins WHERE coin = ? AND ts_ms <= ?", (coin, ts_ms)
    ).fetchone()
    t0 = row[0] if row else None
    if t0 is None or ts_ms - t0 > max_gap_ms:
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
    row = db.execute("SELECT max(ts_ms) FROM market_polls WHERE ts_ms <= ?", (ts_ms,)).fetchone()
    t0 = row[0] if row else None
    if t0 is None or ts_ms - t0 > max_gap_ms:
        return {}
    rows = db.execute(
        f"SELECT {_SNAPSHOT_COLUMNS} FROM market_snapshots s"
        " JOIN market_symbols m ON m.id = s.symbol_id"
        " WHERE s.ts_ms > ? AND s.ts_ms <= ? ORDER BY s.ts_ms DESC",
        (t0 - fill_ms, t0),
    ).fetchall()
    return {c: coin_market(c, t0, snaps) for c, snaps in _latest_per_symbol(rows).items()}


def read_coin_series(db: Database, coin: str, start_ms: int, end_ms: int) -> list[CoinRow]:
    """The coin's per-poll aggregates with ``start_ms <= ts_ms < end_ms``, oldest first."""
    rows: list[CoinRow] = db.execute(
        "SELECT ts_ms, oi_usd, funding_8h, mark_price FROM market_coins"
        " WHERE coin = ? AND ts_ms >= ? AND ts_ms < ? ORDER BY ts_ms",
        (coin, start_ms, end_ms),
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


def prune_market(
    db: Database, now_ms: int, keep_ms: int = KEEP_MS, dense_ms: int = DENSE_MS
) -> PruneStats:
    """Delete polls older than ``keep_ms`` and thin those older than ``dense_ms`` to the
    first poll of each UTC hour, in one transaction. Run hourly; idempotent."""
    expire_before = now_ms - keep_ms
    thin_before = now_ms - dense_ms
    expired: list[int] = []
    thinned: list[int] = []
    kept_hours: set[int] = set()
    with db.atomic():
        for t in poll_times(db, 0, thin_before):
            if t < expire_before:
                expired.append(t)
            elif t // HOUR_MS in kept_hours:
                thinned.append(t)
            else:
                kept_hours.add(t // HOUR_MS)
        gone = [(t,) for t in expired + thinned]
        conn = db.conn
        conn.executemany("DELETE FROM market_snapshots WHERE ts_ms = ?", gone)
        conn.executemany("DELETE FROM market_coins WHERE ts_ms = ?", gone)
        conn.executemany("DELETE FROM market_polls WHERE ts_ms = ?", gone)
    return PruneStats(thinned=len(thinned), expired=len(expired))

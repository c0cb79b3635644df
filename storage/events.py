"""The raw ``events`` table: every liquidation as received, kept for the retention period."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from operator import attrgetter

from sqlite_utils import Database

from bot.events import Liquidation

_FIELDS = ("venue", "symbol", "coin", "side", "price", "qty", "usd", "ts_ms")
# attrgetter with several names returns the tuple in C: the cheapest row builder we have.
_as_row = attrgetter(*_FIELDS)
_INSERT = f"INSERT INTO events ({', '.join(_FIELDS)}) VALUES ({', '.join('?' * len(_FIELDS))})"


def insert_events(conn: sqlite3.Connection, events: Iterable[Liquidation]) -> None:
    """Append ``events`` in the caller's open transaction (no commit here)."""
    conn.executemany(_INSERT, map(_as_row, events))


def read_events(db: Database, start_ms: int, end_ms: int) -> list[Liquidation]:
    """Events with ``start_ms <= ts_ms < end_ms``, in receive order."""
    rows = db.execute(
        f"SELECT {', '.join(_FIELDS)} FROM events WHERE ts_ms >= ? AND ts_ms < ? ORDER BY rowid",
        (start_ms, end_ms),
    ).fetchall()
    return [Liquidation(*row) for row in rows]


def count_events(db: Database) -> int:
    """Number of raw events stored."""
    return int(db.execute("SELECT count(*) FROM events").fetchone()[0])


def delete_events_before(db: Database, before_ms: int) -> int:
    """Delete events with ``ts_ms < before_ms`` (caller's transaction); returns how many."""
    return int(db.execute("DELETE FROM events WHERE ts_ms < ?", (before_ms,)).rowcount)

"""The raw ``events`` table: every liquidation as received, kept for the retention period.

Events have no index on their time: maintaining one cost a quarter of the insert. Pruning
by time stays a range delete through ``event_spans`` instead: each row there says that
the events with ids ``first_id..last_id`` (written together, ids never reused) have
``ts_ms >= min_ts``. A prune skips the spans that are entirely recent and deletes, by id
range, everywhere else.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from operator import attrgetter

from sqlite_utils import Database

from bot.domain import Liquidation
from storage.bulk import BulkInsert

_FIELDS = ("venue", "symbol", "coin", "side", "price", "qty", "usd", "ts_ms")
# attrgetter with several names returns the tuple in C: the cheapest row builder we have.
_as_row = attrgetter(*_FIELDS)
_ts_of = attrgetter("ts_ms")
_INSERT = BulkInsert(f"INSERT INTO events ({', '.join(_FIELDS)})", len(_FIELDS))
# Consecutive batches extend one span up to this many ids, so the span table stays a few
# hundred rows while a prune re-reads at most this many recent events.
SPAN_IDS = 20_000
_MAX_ID = 2**63 - 1


def insert_events(conn: sqlite3.Connection, events: Sequence[Liquidation]) -> None:
    """Append ``events`` in the caller's open transaction (no commit here)."""
    if not events:
        return
    _INSERT.run(conn, map(_as_row, events))
    # AUTOINCREMENT ids are consecutive within the transaction and never reused.
    last = conn.execute("SELECT last_insert_rowid()").fetchone()[0]
    first = last - len(events) + 1
    min_ts = min(map(_ts_of, events))
    span = conn.execute(
        "SELECT first_id, last_id FROM event_spans ORDER BY first_id DESC LIMIT 1"
    ).fetchone()
    if span is not None and span[1] == first - 1 and last - span[0] < SPAN_IDS:
        conn.execute(
            "UPDATE event_spans SET last_id = ?, min_ts = min(min_ts, ?) WHERE first_id = ?",
            (last, min_ts, span[0]),
        )
    else:
        conn.execute("INSERT INTO event_spans VALUES (?, ?, ?)", (first, last, min_ts))


def read_events(db: Database, start_ms: int, end_ms: int) -> list[Liquidation]:
    """Events with ``start_ms <= ts_ms < end_ms``, in receive order (a full scan: debugging
    and rebuilds only)."""
    rows = db.execute(
        f"SELECT {', '.join(_FIELDS)} FROM events WHERE ts_ms >= ? AND ts_ms < ? ORDER BY id",
        (start_ms, end_ms),
    ).fetchall()
    return [Liquidation(*row) for row in rows]


def count_events(db: Database) -> int:
    """Number of raw events stored."""
    return int(db.execute("SELECT count(*) FROM events").fetchone()[0])


def delete_events_before(db: Database, before_ms: int) -> int:
    """Delete events with ``ts_ms < before_ms`` (caller's transaction); returns how many."""
    spans = db.execute("SELECT first_id, last_id, min_ts FROM event_spans ORDER BY first_id")
    # Id ranges that may hold old events: everything outside the spans known to be recent
    # (including ids no span covers, whoever wrote them).
    ranges = []
    low = -_MAX_ID
    for first, last, min_ts in spans.fetchall():
        if min_ts >= before_ms:
            if low < first:
                ranges.append((low, first - 1))
            low = last + 1
    ranges.append((low, _MAX_ID))
    deleted = 0
    for low, high in ranges:
        deleted += db.execute(
            "DELETE FROM events WHERE id BETWEEN ? AND ? AND ts_ms < ?", (low, high, before_ms)
        ).rowcount
    # The spans just searched now hold only events >= before_ms, or none at all.
    db.execute(
        "DELETE FROM event_spans WHERE min_ts < ? AND NOT EXISTS"
        " (SELECT 1 FROM events WHERE id BETWEEN first_id AND last_id)",
        (before_ms,),
    )
    db.execute(
        "UPDATE event_spans SET min_ts ="
        " (SELECT min(ts_ms) FROM events WHERE id BETWEEN first_id AND last_id)"
        " WHERE min_ts < ?",
        (before_ms,),
    )
    return deleted

"""Per-minute liquidation buckets: the additive summary every total is computed from.

One row per (minute, venue, coin, side) holds the USD sum, the count and the largest
single liquidation with its time and symbol. Batches add to rows (never overwrite), so a
bucket can be fed by any number of batches in any order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlite_utils import Database

from bot.domain import BucketDelta, BucketKey, BucketRow, Liquidation
from storage.bulk import BulkInsert
from storage.events import delete_events_before, insert_events

# Additive upsert. In an UPDATE every right-hand side sees the row as it was before the
# statement, so the three max columns are decided against the same old ``max_usd``; on a
# tie the liquidation already stored (the earlier batch) is kept. A deltas mapping has
# each key once, so many rows can share one statement.
_UPSERT = BulkInsert(
    "INSERT INTO minute_buckets"
    " (minute_ms, venue, coin, side, usd, count, max_usd, max_ts, max_symbol)",
    9,
    """
ON CONFLICT (minute_ms, venue, coin, side) DO UPDATE SET
    usd = usd + excluded.usd,
    count = count + excluded.count,
    max_ts = CASE WHEN excluded.max_usd > max_usd THEN excluded.max_ts ELSE max_ts END,
    max_symbol =
        CASE WHEN excluded.max_usd > max_usd THEN excluded.max_symbol ELSE max_symbol END,
    max_usd = max(max_usd, excluded.max_usd)
""",
)

_COLUMNS = "minute_ms, venue, coin, side, usd, count, max_usd, max_ts, max_symbol"


def write_batch(
    db: Database, events: Sequence[Liquidation], deltas: Mapping[BucketKey, BucketDelta]
) -> None:
    """Store raw ``events`` and add ``deltas`` to their buckets in ONE transaction.

    Goes through the raw connection with multi-row statements inside ``db.atomic()``:
    sqlite-utils write helpers would commit per call and build dicts per row, several
    times slower.
    """
    rows = [
        (key[0], key[1], key[2], key[3], d.usd, d.count, d.max_usd, d.max_ts, d.max_symbol)
        for key, d in deltas.items()
    ]
    with db.atomic():
        insert_events(db.conn, events)
        _UPSERT.run(db.conn, rows)


def read_buckets(
    db: Database, start_ms: int, end_ms: int, coin: str | None = None
) -> list[BucketRow]:
    """Buckets with ``start_ms <= minute_ms < end_ms`` (optionally one coin), by minute."""
    sql = f"SELECT {_COLUMNS} FROM minute_buckets WHERE minute_ms >= ? AND minute_ms < ?"
    params: tuple[int | str, ...] = (start_ms, end_ms)
    if coin is not None:
        sql += " AND coin = ?"
        params += (coin,)
    sql += " ORDER BY minute_ms, venue, coin, side"
    rows: list[BucketRow] = db.execute(sql, params).fetchall()
    return rows


def sum_buckets(
    db: Database, start_ms: int, end_ms: int, coin: str | None = None
) -> list[BucketRow]:
    """The buckets of ``[start_ms, end_ms)`` summed per (venue, coin, side).

    Each row carries the largest bucket maximum with its time and symbol, and is stamped
    with that bucket's minute (SQLite takes bare columns from the row that holds the
    query's single aggregate ``max()``), so every row is a valid bucket of a minute inside
    the range. A one-shot reader gets a window's totals from one row per series instead
    of every minute bucket.
    """
    sql = (
        "SELECT minute_ms, venue, coin, side, sum(usd), sum(count),"
        " max(max_usd), max_ts, max_symbol FROM minute_buckets"
        " WHERE minute_ms >= ? AND minute_ms < ?"
    )
    params: tuple[int | str, ...] = (start_ms, end_ms)
    if coin is not None:
        sql += " AND coin = ?"
        params += (coin,)
    sql += " GROUP BY venue, coin, side"
    rows: list[BucketRow] = db.execute(sql, params).fetchall()
    return rows


def prune(db: Database, events_before_ms: int, buckets_before_ms: int) -> tuple[int, int]:
    """Delete raw events with ``ts_ms < events_before_ms`` and buckets with
    ``minute_ms < buckets_before_ms`` in one transaction; returns (events, buckets) deleted.
    """
    with db.atomic():
        events = delete_events_before(db, events_before_ms)
        buckets = db.execute(
            "DELETE FROM minute_buckets WHERE minute_ms < ?", (buckets_before_ms,)
        ).rowcount
    return events, int(buckets)

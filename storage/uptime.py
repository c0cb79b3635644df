"""Feed uptime: per venue, the intervals during which its websocket was connected.

A connection opens an interval, extends it periodically while data flows (so a crash
leaves the interval ending at the last proof of life, not open forever) and closes it on
disconnect. Gaps in coverage are the complement of these intervals inside a window.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlite_utils import Database

UptimeRow = tuple[str, int, int]
"""(venue, start_ms, end_ms)."""

IntervalRow = tuple[str, int, int, bool]
"""(venue, start_ms, end_ms, open): ``open`` while the interval is still being extended."""


def open_interval(db: Database, venue: str, start_ms: int) -> int:
    """Start an interval for ``venue`` at ``start_ms``; returns its id."""
    cursor = db.execute(
        "INSERT INTO source_uptime (venue, start_ms, end_ms, closed) VALUES (?, ?, ?, 0)",
        (venue, start_ms, start_ms),
    )
    assert cursor.lastrowid is not None
    return cursor.lastrowid


def extend_intervals(db: Database, ids: Iterable[int], now_ms: int) -> None:
    """Move the end of each interval in ``ids`` to ``now_ms`` (never backwards)."""
    with db.atomic():
        db.conn.executemany(
            "UPDATE source_uptime SET end_ms = max(end_ms, ?) WHERE id = ?",
            [(now_ms, interval_id) for interval_id in ids],
        )


def close_interval(db: Database, interval_id: int, end_ms: int) -> None:
    """End an interval at ``end_ms`` (never before its start or last extension)."""
    db.execute(
        "UPDATE source_uptime SET end_ms = max(end_ms, ?), closed = 1 WHERE id = ?",
        (end_ms, interval_id),
    )


def close_abandoned_intervals(db: Database) -> int:
    """Mark every interval still open as closed at its last extension (a previous process
    was killed); returns how many. Call at start-up, before the feeds open new ones."""
    return db.execute("UPDATE source_uptime SET closed = 1 WHERE closed = 0").rowcount


def read_uptime(db: Database, start_ms: int, end_ms: int) -> list[UptimeRow]:
    """Intervals overlapping ``[start_ms, end_ms)``, unclipped, by venue then start.

    An interval still open is reported up to its last extension.
    """
    rows: list[UptimeRow] = db.execute(
        "SELECT venue, start_ms, end_ms FROM source_uptime"
        " WHERE end_ms >= ? AND start_ms < ? ORDER BY venue, start_ms, id",
        (start_ms, end_ms),
    ).fetchall()
    return rows


def read_intervals(db: Database, start_ms: int, end_ms: int) -> list[IntervalRow]:
    """Like :func:`read_uptime`, with whether each interval is still open."""
    rows = db.execute(
        "SELECT venue, start_ms, end_ms, closed FROM source_uptime"
        " WHERE end_ms >= ? AND start_ms < ? ORDER BY venue, start_ms, id",
        (start_ms, end_ms),
    ).fetchall()
    return [(venue, s, e, not closed) for venue, s, e, closed in rows]


def prune_uptime(db: Database, before_ms: int) -> int:
    """Delete closed intervals that ended before ``before_ms`` (one row per connection
    would otherwise grow forever); returns how many went. Open ones are kept."""
    cursor = db.execute("DELETE FROM source_uptime WHERE end_ms < ? AND closed = 1", (before_ms,))
    return int(cursor.rowcount)

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


def open_interval(db: Database, venue: str, start_ms: int) -> int:
    """Start an interval for ``venue`` at ``start_ms``; returns its id."""
    cursor = db.execute(
        "INSERT INTO source_uptime (venue, start_ms, end_ms) VALUES (?, ?, ?)",
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
        "UPDATE source_uptime SET end_ms = max(end_ms, ?) WHERE id = ?", (end_ms, interval_id)
    )


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

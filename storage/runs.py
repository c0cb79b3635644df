"""When liqwatch itself was running: one row per process, its end extended while it lives.

A run starts when the process opens the database and is extended every few seconds, so a
kill -9 leaves the run ending at the last extension; a clean shutdown closes it. Time
outside every run is "not collected" in coverage, time inside a run without a feed
interval is "venue down".
"""

from __future__ import annotations

from sqlite_utils import Database

RunRow = tuple[int, int, bool]
"""(start_ms, end_ms, open): ``open`` while the run is still being extended."""


def open_run(db: Database, start_ms: int) -> int:
    """Record a run starting at ``start_ms``; closes runs a killed process left open.

    Returns the new run's id.
    """
    with db.atomic():
        db.execute("UPDATE runs SET closed = 1 WHERE closed = 0")
        cursor = db.execute(
            "INSERT INTO runs (start_ms, end_ms, closed) VALUES (?, ?, 0)", (start_ms, start_ms)
        )
    assert cursor.lastrowid is not None
    return cursor.lastrowid


def extend_run(db: Database, run_id: int, now_ms: int) -> None:
    """Move the end of run ``run_id`` to ``now_ms`` (never backwards)."""
    db.execute("UPDATE runs SET end_ms = max(end_ms, ?) WHERE id = ?", (now_ms, run_id))


def close_run(db: Database, run_id: int, end_ms: int) -> None:
    """End run ``run_id`` at ``end_ms`` for good."""
    db.execute(
        "UPDATE runs SET end_ms = max(end_ms, ?), closed = 1 WHERE id = ?", (end_ms, run_id)
    )


def read_runs(db: Database, start_ms: int, end_ms: int) -> list[RunRow]:
    """Runs overlapping ``[start_ms, end_ms)`` by start, each up to its last extension."""
    rows = db.execute(
        "SELECT start_ms, end_ms, closed FROM runs WHERE end_ms >= ? AND start_ms < ?"
        " ORDER BY start_ms, id",
        (start_ms, end_ms),
    ).fetchall()
    return [(s, e, not closed) for s, e, closed in rows]


def prune_runs(db: Database, before_ms: int) -> int:
    """Delete closed runs that ended before ``before_ms``; returns how many went."""
    cursor = db.execute("DELETE FROM runs WHERE end_ms < ? AND closed = 1", (before_ms,))
    return int(cursor.rowcount)

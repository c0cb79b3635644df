"""write_each / unwritable (storage/rowwise.py) on a real SQLite file."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

import pytest
from sqlite_utils import Database

from storage.rowwise import unwritable, write_each


def insert(db: Database, rows: Sequence[tuple[object, object]]) -> int:
    db.conn.executemany("INSERT INTO t VALUES (?, ?)", rows)
    return len(rows)


def test_refused_values_are_skipped_and_the_rest_is_committed(tmp_path: Path) -> None:
    db = Database(tmp_path / "t.db")
    db.execute("CREATE TABLE t (a INTEGER NOT NULL, b TEXT NOT NULL)")
    rows = [(1, "a"), (2**63, "big"), (3, "\ud800"), (4, None), (5, object()), (6, "f")]
    result = write_each(db, rows, insert)
    assert db.execute("SELECT a, b FROM t ORDER BY a").fetchall() == [(1, "a"), (6, "f")]
    assert [item for item, _ in result.skipped] == rows[1:5]
    assert result.written == [1, 1]
    assert result.describe().startswith("OverflowError: Python int too large")


def test_a_failing_database_is_not_a_row_fault(tmp_path: Path) -> None:
    db = Database(tmp_path / "t.db")
    db.execute("CREATE TABLE t (a INTEGER NOT NULL, b TEXT NOT NULL)")
    db.execute("DROP TABLE t")
    with pytest.raises(sqlite3.OperationalError):
        write_each(db, [(1, "a")], insert)
    assert not unwritable(sqlite3.OperationalError("database or disk is full"))
    closed = sqlite3.connect(":memory:")
    closed.close()
    with pytest.raises(sqlite3.ProgrammingError) as info:
        closed.execute("SELECT 1")
    assert not unwritable(info.value)

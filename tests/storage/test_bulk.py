import sqlite3

import pytest

from storage.bulk import BulkInsert

TABLE = "CREATE TABLE t (k INTEGER PRIMARY KEY, name TEXT NOT NULL, x REAL NOT NULL)"


def rows(n: int) -> list[tuple[int, str, float]]:
    return [(i, f"n{i}", i / 7) for i in range(n)]


@pytest.mark.parametrize("n", [0, 1, 499, 500, 501, 1_234])
def test_every_row_lands_once_in_order_across_group_boundaries(n: int) -> None:
    conn = sqlite3.connect(":memory:")
    conn.execute(TABLE)
    BulkInsert("INSERT INTO t (k, name, x)", 3).run(conn, rows(n))
    assert conn.execute("SELECT k, name, x FROM t ORDER BY rowid").fetchall() == rows(n)


def test_upsert_tail_applies_to_every_row() -> None:
    conn = sqlite3.connect(":memory:")
    conn.execute(TABLE)
    upsert = BulkInsert(
        "INSERT INTO t (k, name, x)", 3, "ON CONFLICT (k) DO UPDATE SET x = x + excluded.x"
    )
    upsert.run(conn, rows(700))
    upsert.run(conn, [(i, "ignored", 1.0) for i in range(0, 700, 2)])
    got = dict(conn.execute("SELECT k, x FROM t").fetchall())
    assert got == {i: i / 7 + (1.0 if i % 2 == 0 else 0.0) for i in range(700)}


def test_a_low_bound_value_limit_gives_smaller_groups() -> None:
    conn = sqlite3.connect(":memory:")
    conn.execute(TABLE)
    conn.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 100)  # 33 rows of 3 values
    BulkInsert("INSERT INTO t (k, name, x)", 3).run(conn, rows(1_000))
    assert conn.execute("SELECT count(*), sum(k) FROM t").fetchone() == (1_000, sum(range(1_000)))


def test_rows_of_the_wrong_width_are_refused() -> None:
    conn = sqlite3.connect(":memory:")
    conn.execute(TABLE)
    with pytest.raises(ValueError):
        BulkInsert("INSERT INTO t (k, name, x)", 3).run(conn, [(1, "a")])
    assert conn.execute("SELECT count(*) FROM t").fetchone() == (0,)

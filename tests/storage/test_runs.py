from pathlib import Path

import pytest
from sqlite_utils import Database

from storage.db import open_db
from storage.runs import close_run, extend_run, open_run, read_runs
from storage.uptime import (
    close_abandoned_intervals,
    close_interval,
    open_interval,
    read_intervals,
)

T0 = 1_791_590_400_000


@pytest.fixture
def db(tmp_path: Path) -> Database:
    db = open_db(tmp_path / "liq.db")
    yield db
    db.close()


def test_runs_open_extend_close_and_a_killed_run_keeps_its_last_extension(db: Database) -> None:
    first = open_run(db, T0)
    extend_run(db, first, T0 + 30_000)
    extend_run(db, first, T0 + 10_000)  # never backwards
    assert read_runs(db, T0, T0 + 60_000) == [(T0, T0 + 30_000, True)]
    # The process was killed: the next start closes the run where it was last extended.
    second = open_run(db, T0 + 90_000)
    assert read_runs(db, T0, T0 + 120_000) == [
        (T0, T0 + 30_000, False),
        (T0 + 90_000, T0 + 90_000, True),
    ]
    close_run(db, second, T0 + 100_000)
    assert read_runs(db, T0 + 95_000, T0 + 200_000) == [(T0 + 90_000, T0 + 100_000, False)]
    assert read_runs(db, T0 + 100_001, T0 + 200_000) == []


def test_intervals_report_whether_they_are_open(db: Database) -> None:
    a = open_interval(db, "okx", T0)
    b = open_interval(db, "bybit", T0 + 1_000)
    close_interval(db, a, T0 + 5_000)
    assert read_intervals(db, T0, T0 + 10_000) == [
        ("bybit", T0 + 1_000, T0 + 1_000, True),
        ("okx", T0, T0 + 5_000, False),
    ]
    assert close_abandoned_intervals(db) == 1
    assert read_intervals(db, T0, T0 + 10_000)[0] == ("bybit", T0 + 1_000, T0 + 1_000, False)
    assert b != a


def test_the_migration_marks_older_intervals_closed() -> None:
    # A database from before the runs table: its intervals are history, none is open.
    from storage.schema import m001_liquidations, m006_runs

    old = Database(memory=True)
    m001_liquidations(old)
    old.execute("INSERT INTO source_uptime (venue, start_ms, end_ms) VALUES ('okx', 1, 2)")
    m006_runs(old)
    assert read_intervals(old, 0, 10) == [("okx", 1, 2, False)]
    assert read_runs(old, 0, 10) == []

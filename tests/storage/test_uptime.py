from pathlib import Path

import pytest
from sqlite_utils import Database

from storage.db import open_db
from storage.uptime import close_interval, extend_intervals, open_interval, read_uptime

T0 = 1_791_590_400_000


@pytest.fixture
def db(tmp_path: Path) -> Database:
    db = open_db(tmp_path / "liq.db")
    yield db
    db.close()


def test_intervals_open_extend_close_and_read(db: Database) -> None:
    a = open_interval(db, "binance", T0)
    b = open_interval(db, "okx", T0 + 5_000)
    assert a != b
    extend_intervals(db, [a, b], T0 + 60_000)
    close_interval(db, a, T0 + 90_000)
    extend_intervals(db, [b], T0 + 30_000)  # never moves an end backwards
    c = open_interval(db, "binance", T0 + 120_000)  # reconnect after a 30 s gap

    assert read_uptime(db, T0, T0 + 200_000) == [
        ("binance", T0, T0 + 90_000),
        ("binance", T0 + 120_000, T0 + 120_000),
        ("okx", T0 + 5_000, T0 + 60_000),  # still open: reported to its last extension
    ]
    close_interval(db, c, T0 + 100_000)  # before its start: the interval stays empty, not negative
    assert ("binance", T0 + 120_000, T0 + 120_000) in read_uptime(db, T0, T0 + 200_000)


def test_read_returns_only_overlapping_intervals_unclipped(db: Database) -> None:
    old = open_interval(db, "bybit", T0)
    close_interval(db, old, T0 + 10_000)
    mid = open_interval(db, "bybit", T0 + 20_000)
    close_interval(db, mid, T0 + 40_000)
    late = open_interval(db, "bybit", T0 + 50_000)
    close_interval(db, late, T0 + 60_000)

    assert read_uptime(db, T0 + 30_000, T0 + 50_000) == [("bybit", T0 + 20_000, T0 + 40_000)]
    assert read_uptime(db, T0 + 10_001, T0 + 20_000) == []
    assert len(read_uptime(db, 0, T0 + 60_001)) == 3

import asyncio
import math
import threading
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

import pytest
from sqlite_utils import Database

from bot.domain import HOUR_MS, LONG, SHORT, BucketDelta, BucketKey, Liquidation
from bot.ingest.aggregate import bucket_deltas
from bot.ingest.ingestor import Ingestor
from bot.totals.index import TotalsIndex
from storage.buckets import read_buckets
from storage.db import DbThread, open_db
from storage.events import count_events

T0 = 1_791_590_400_000


def batch(n: int, offset: int = 0) -> list[Liquidation]:
    return [
        Liquidation(
            ("binance", "bybit", "okx")[i % 3],
            "ETHUSDT" if i % 4 else "BTCUSDT",
            "ETH" if i % 4 else "BTC",
            LONG if i % 5 else SHORT,
            100.0,
            1.5,
            1_000.0 + 37.25 * i,
            T0 + offset + i * 7_001,
        )
        for i in range(n)
    ]


@pytest.fixture
async def dbt(tmp_path: Path) -> AsyncIterator[DbThread]:
    dbt = DbThread(tmp_path / "liq.db")
    yield dbt
    await dbt.close()


async def test_flush_commits_then_feeds_index_and_listeners(dbt: DbThread) -> None:
    index = TotalsIndex()
    seen: list[Mapping[BucketKey, BucketDelta]] = []
    ingestor = Ingestor(dbt, index, [seen.append])
    events = batch(40)

    ingestor.add(events[:25])
    ingestor.add(events[25:])
    assert ingestor.pending == 40
    assert await ingestor.flush() == 40
    assert await ingestor.flush() == 0  # nothing pending: no empty batch, no listener call

    assert ingestor.pending == 0
    assert seen == [bucket_deltas(events)]
    assert await dbt.run(count_events) == 40
    rows = await dbt.run(read_buckets, T0, T0 + HOUR_MS)
    assert sum(r[5] for r in rows) == 40
    assert math.isclose(sum(r[4] for r in rows), math.fsum(e.usd for e in events), rel_tol=1e-12)
    totals = index.query(HOUR_MS, T0 + HOUR_MS)
    assert math.isclose(
        totals.long_usd, math.fsum(e.usd for e in events if e.side == LONG), rel_tol=1e-12
    )
    assert math.isclose(
        totals.short_usd, math.fsum(e.usd for e in events if e.side == SHORT), rel_tol=1e-12
    )
    assert (ingestor.stats.events, ingestor.stats.batches) == (40, 1)
    assert ingestor.stats.last_flush_s > 0


async def test_failing_listener_does_not_stop_the_others(dbt: DbThread) -> None:
    def broken(deltas: Mapping[BucketKey, BucketDelta]) -> None:
        raise ValueError("listener bug")

    seen: list[int] = []
    ingestor = Ingestor(dbt, None, [broken, lambda d: seen.append(len(d))])
    ingestor.add(batch(3))
    assert await ingestor.flush() == 3
    assert seen == [len(bucket_deltas(batch(3)))]


def test_flush_sync_commits_on_the_callers_database(tmp_path: Path) -> None:
    db = open_db(tmp_path / "liq.db")
    try:
        seen: list[int] = []
        ingestor = Ingestor(
            None, listeners=[lambda d: seen.append(sum(x.count for x in d.values()))]
        )
        ingestor.add(batch(10))
        assert ingestor.flush_sync(db) == 10
        ingestor.add(batch(5, offset=HOUR_MS))
        assert ingestor.flush_sync(db) == 5
        assert count_events(db) == 15 and seen == [10, 5]
    finally:
        db.close()


def test_failing_database_requeues_then_drops_after_max_attempts(tmp_path: Path) -> None:
    db = open_db(tmp_path / "liq.db")
    try:
        ingestor = Ingestor(None, max_attempts=2)
        ingestor.add(batch(5))
        # A database fault (not a value SQLite refuses): the batch is kept and retried.
        db.execute("ALTER TABLE minute_buckets RENAME TO away")
        with pytest.raises(Exception, match="no such table"):
            ingestor.flush_sync(db)
        assert ingestor.pending == 5 and ingestor.stats.failures == 1
        assert count_events(db) == 0  # the transaction rolled back as a whole

        with pytest.raises(Exception, match="no such table"):
            ingestor.flush_sync(db)
        assert ingestor.pending == 0 and ingestor.stats.dropped == 5

        db.execute("ALTER TABLE away RENAME TO minute_buckets")
        ingestor.add(batch(4))
        assert ingestor.flush_sync(db) == 4
        assert count_events(db) == 4
    finally:
        db.close()


@pytest.mark.parametrize(
    "poison",
    [
        Liquidation("okx", "X-USDT-SWAP", "X", LONG, 1.0, 1.0, None, T0),  # type: ignore[arg-type]
        Liquidation("okx", "X\ud800", "X", LONG, 1.0, 1.0, 5.0, T0),  # not UTF-8 encodable
        Liquidation("okx", "X-USDT-SWAP", "X", LONG, 1.0, 1.0, 5.0, 2**64),  # beyond 64 bits
    ],
)
def test_an_unwritable_event_is_left_out_and_never_blocks_the_others(
    tmp_path: Path, poison: Liquidation, caplog: pytest.LogCaptureFixture
) -> None:
    db = open_db(tmp_path / "liq.db")
    try:
        index = TotalsIndex()
        ingestor = Ingestor(None, index)
        good = batch(4)
        ingestor.add([good[0], poison, *good[1:]])
        assert ingestor.flush_sync(db) == 4
        assert ingestor.pending == 0 and ingestor.stats.dropped == 1
        assert count_events(db) == 4
        stored = read_buckets(db, 0, 2**62)
        assert sum(r[5] for r in stored) == 4
        assert math.fsum(r[4] for r in stored) == math.fsum(e.usd for e in good)
        errors = [r for r in caplog.records if r.levelname == "ERROR"]
        assert len(errors) == 1 and errors[0].exc_info is None
        assert errors[0].getMessage().startswith("ingest: left out 1 unwritable of 5 events (")
        ingestor.add(batch(3, offset=HOUR_MS))  # the next batch takes the fast path
        assert ingestor.flush_sync(db) == 3 and count_events(db) == 7
    finally:
        db.close()


async def test_cancelled_flush_still_commits_and_publishes(dbt: DbThread) -> None:
    seen: list[int] = []
    ingestor = Ingestor(dbt, listeners=[lambda d: seen.append(len(d))])
    gate = threading.Event()

    def hold(db: Database) -> None:
        gate.wait(5)

    busy = asyncio.ensure_future(dbt.run(hold))  # the DB thread is busy: the batch queues
    ingestor.add(batch(6))
    flush = asyncio.ensure_future(ingestor.flush())
    await asyncio.sleep(0.05)
    flush.cancel()
    with pytest.raises(asyncio.CancelledError):
        await flush
    assert seen == []
    gate.set()
    await busy
    await dbt.run(lambda db: None)  # queued after the batch: the batch is done
    await asyncio.sleep(0)  # let the completion callback run on the loop

    assert await dbt.run(count_events) == 6
    assert seen == [len(bucket_deltas(batch(6)))]
    assert ingestor.stats.events == 6 and ingestor.pending == 0


def test_buffer_bound_drops_oldest() -> None:
    ingestor = Ingestor(None, max_pending=10)
    events = batch(14)
    ingestor.add(events[:8])
    ingestor.add(events[8:])
    assert ingestor.pending == 10 and ingestor.stats.dropped == 4

"""Raw events without a time index: pruning through event_spans must delete exactly the
events older than the cut, whatever order their times arrived in."""

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlite_utils import Database

from bot.domain import LONG, SHORT, Liquidation
from storage.db import open_db
from storage.events import SPAN_IDS, count_events, delete_events_before, insert_events

T0 = 1_791_590_400_000


def liq(i: int, ts_ms: int) -> Liquidation:
    return Liquidation("bybit", "BTCUSDT", "BTC", LONG if i % 2 else SHORT, 2.0, 0.5, 1.0, ts_ms)


def write(db: Database, events: list[Liquidation]) -> None:
    with db.atomic():
        insert_events(db.conn, events)


def stored(db: Database) -> list[tuple[int, str]]:
    return db.execute("SELECT ts_ms, side FROM events ORDER BY id").fetchall()


def prune(db: Database, before_ms: int) -> int:
    with db.atomic():
        return delete_events_before(db, before_ms)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    db = open_db(tmp_path / "liq.db")
    yield db
    db.close()


def test_prune_deletes_exactly_the_old_events_of_every_batch(db: Database) -> None:
    rng = random.Random(3)
    kept: list[Liquidation] = []
    for batch in range(30):
        # Mostly recent times, with late prints from long ago mixed in.
        events = [
            liq(i, T0 + batch * 60_000 + rng.randrange(-3_600_000 if i % 17 == 0 else 0, 60_000))
            for i in range(rng.randrange(1, 400))
        ]
        write(db, events)
        kept += events
    for cut in (T0 - 4_000_000, T0 + 600_000, T0 + 600_000, T0 + 1_200_001, T0 + 10**9):
        deleted = prune(db, cut)
        survivors = [e for e in kept if e.ts_ms >= cut]
        assert deleted == len(kept) - len(survivors)
        assert stored(db) == [(e.ts_ms, e.side) for e in survivors]
        kept = survivors
    assert count_events(db) == 0


def test_ids_are_not_reused_after_the_newest_event_is_pruned(db: Database) -> None:
    write(db, [liq(0, T0 + 100), liq(1, T0 - 100)])  # the newest id has the oldest time
    assert prune(db, T0) == 1  # the span now only holds T0 + 100
    # A reused id would land inside that span, which a prune at T0 + 10 skips as recent.
    write(db, [liq(2, T0 - 50)])
    assert prune(db, T0 + 10) == 1
    assert stored(db) == [(T0 + 100, SHORT)]
    assert [r[0] for r in db.execute("SELECT id FROM events ORDER BY id")] == [1]


def test_events_written_without_a_span_are_still_pruned(db: Database) -> None:
    write(db, [liq(0, T0 + 1_000)])
    db.execute(
        "INSERT INTO events (venue, symbol, coin, side, price, qty, usd, ts_ms)"
        " VALUES ('okx', 'BTC-USDT-SWAP', 'BTC', 'long', 1, 1, 1, ?)",
        (T0 - 1,),
    )
    write(db, [liq(1, T0 + 2_000)])
    assert prune(db, T0) == 1
    assert [ts for ts, _ in stored(db)] == [T0 + 1_000, T0 + 2_000]


def test_small_batches_share_spans(db: Database) -> None:
    for i in range(3 * SPAN_IDS // 1_000 + 1):
        write(db, [liq(j, T0 + i) for j in range(1_000)])
    spans = db.execute("SELECT first_id, last_id FROM event_spans ORDER BY first_id").fetchall()
    assert len(spans) == 4  # 20 batches of 1,000 ids each fill one span, then the next
    assert all(last - first < SPAN_IDS for first, last in spans)
    assert [f for f, _ in spans[1:]] == [last + 1 for _, last in spans[:-1]]


def test_rolled_back_batch_leaves_no_span(db: Database) -> None:
    with pytest.raises(RuntimeError), db.atomic():
        insert_events(db.conn, [liq(0, T0)])
        raise RuntimeError("later statement of the batch failed")
    assert db.execute("SELECT count(*) FROM event_spans").fetchone()[0] == 0
    write(db, [liq(1, T0 - 10)])
    assert prune(db, T0) == 1


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.lists(st.integers(-50, 50), min_size=1, max_size=30).map(lambda ts: ("w", ts)),
            st.integers(-60, 60).map(lambda cut: ("p", cut)),
        ),
        max_size=25,
    )
)
def test_any_interleaving_of_writes_and_prunes(
    tmp_path_factory: pytest.TempPathFactory, ops: list[tuple[str, Any]]
) -> None:
    db = open_db(tmp_path_factory.mktemp("ev") / "liq.db")
    try:
        model: list[int] = []
        for kind, arg in ops:
            if kind == "w":
                write(db, [liq(i, T0 + t) for i, t in enumerate(arg)])
                model += [T0 + t for t in arg]
            else:
                survivors = [t for t in model if t >= T0 + arg]
                assert prune(db, T0 + arg) == len(model) - len(survivors)
                model = survivors
            assert [ts for ts, _ in stored(db)] == model
    finally:
        db.close()

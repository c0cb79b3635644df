"""The outbox table (storage/outbox.py) on a real SQLite file."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from sqlite_utils import Database

from storage import outbox
from storage.db import open_db
from storage.outbox import FAILED, PENDING, SENDING, SENT, NewMessage


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = open_db(tmp_path / "liq.db")
    yield database
    database.close()


def test_add_returns_rows_with_fresh_ids_in_order(db: Database) -> None:
    first = outbox.add(db, [NewMessage(1, "a"), NewMessage(-2, "b", "summary")], 1_000)
    second = outbox.add(db, [NewMessage(3, "c")], 2_000)
    assert [(r.id, r.chat_id, r.text, r.kind) for r in first + second] == [
        (1, 1, "a", "alert"),
        (2, -2, "b", "summary"),
        (3, 3, "c", "alert"),
    ]
    assert all(r.status == PENDING and r.attempts == 0 for r in first + second)
    assert outbox.get(db, [3, 1, 99]) == [first[0], second[0]]
    assert outbox.add(db, [], 3_000) == []


def test_add_joins_the_callers_transaction(db: Database) -> None:
    with pytest.raises(RuntimeError), db.atomic():
        outbox.add(db, [NewMessage(1, "lost with the transaction")], 1_000)
        raise RuntimeError("the rule states failed to save")
    assert outbox.unfinished(db) == []


def test_status_flow_and_unfinished(db: Database) -> None:
    a, b, c, d = outbox.add(db, [NewMessage(i, f"m{i}") for i in (1, 2, 3, 4)], 1_000)
    changes = [
        replace(a, status=SENDING, attempts=1),
        replace(b, status=SENT, attempts=1, sent_ms=1_500),
        replace(c, status=FAILED, attempts=2, reason="chat unreachable: blocked"),
        replace(d, status=PENDING, attempts=1, next_try_ms=9_000, reason="NetworkError"),
    ]
    assert outbox.update(db, changes) == 4
    assert outbox.get(db, [1, 2, 3, 4]) == changes
    # A start resends what was in flight or still waiting, oldest first.
    assert outbox.unfinished(db) == [changes[0], changes[3]]
    assert outbox.counts(db) == {"pending": 1, "sending": 1, "sent": 1, "failed": 1}
    assert outbox.counts(db, since_ms=1_001) == {
        "pending": 0,
        "sending": 0,
        "sent": 0,
        "failed": 0,
    }
    assert not changes[0].finished and changes[1].finished and changes[2].finished


def test_update_can_readdress_a_row(db: Database) -> None:
    (row,) = outbox.add(db, [NewMessage(-100, "hi")], 1_000)
    outbox.update(db, [replace(row, chat_id=-1009)])
    assert outbox.rows_for(db, -100) == []
    assert [r.id for r in outbox.rows_for(db, -1009)] == [row.id]
    assert outbox.update(db, []) == 0


def test_prune_keeps_unfinished_rows_whatever_their_age(db: Database) -> None:
    old = outbox.add(db, [NewMessage(i, "old") for i in range(4)], 1_000)
    new = outbox.add(db, [NewMessage(9, "new")], 5_000)
    outbox.update(
        db,
        [
            replace(old[0], status=SENT, sent_ms=1_100),
            replace(old[1], status=FAILED, reason="bad request"),
            replace(old[2], status=SENDING, attempts=1),
            replace(new[0], status=SENT, sent_ms=5_100),
        ],
    )
    assert outbox.prune(db, 2_000) == 2
    assert [r.id for r in outbox.get(db, range(1, 10))] == [old[2].id, old[3].id, new[0].id]


def test_a_notice_is_stored_once_per_fan_out_and_pruned_with_its_rows(db: Database) -> None:
    fan_out = [NewMessage(c, "", "alert", '{"kind":"x","n":1}') for c in range(1, 4)]
    rows = outbox.add(db, [*fan_out, NewMessage(9, "text only")], 1_000)
    later = outbox.add(db, [NewMessage(5, "", "alert", '{"kind":"x","n":2}')], 5_000)
    assert db.execute("SELECT COUNT(*) FROM notices").fetchone() == (2,)
    assert [r.notice for r in outbox.get(db, [r.id for r in rows + later])] == [
        '{"kind":"x","n":1}',
        '{"kind":"x","n":1}',
        '{"kind":"x","n":1}',
        None,
        '{"kind":"x","n":2}',
    ]
    assert {(r.channel, r.address) for r in rows} == {("telegram", None)}
    outbox.update(db, [replace(r, status="sent") for r in rows])
    assert outbox.prune(db, 2_000) == 4
    assert [r.notice for r in outbox.unfinished(db)] == ['{"kind":"x","n":2}']
    assert db.execute("SELECT body FROM notices").fetchall() == [('{"kind":"x","n":2}',)]

from pathlib import Path

import pytest
from sqlite_utils import Database

from bot.domain import RuleSpec, RuleState
from storage import chats
from storage import funding_alerts as store
from storage.db import open_db

T0 = 1_791_590_400_000


@pytest.fixture
def db(tmp_path: Path) -> Database:
    return open_db(tmp_path / "funding.db")


def test_set_change_and_delete_threshold(db: Database) -> None:
    assert {"funding_alerts", "funding_alert_states"} <= set(db.table_names())
    assert store.get_threshold(db, 1) is None
    assert store.set_threshold(db, 1, 0.001, T0) is None
    assert store.get_threshold(db, 1) == 0.001
    store.save_states(db, {(1, "BTC"): RuleState(2, T0, 0.001)})
    # The same threshold keeps the states; a different one drops them.
    assert store.set_threshold(db, 1, 0.001, T0 + 1) == 0.001
    assert store.load_states(db) == {(1, "BTC"): RuleState(2, T0, 0.001)}
    assert store.set_threshold(db, 1, 0.002, T0 + 2) == 0.001
    assert store.load_states(db) == {}
    store.save_states(db, {(1, "ETH"): RuleState(1, T0, 0.002)})
    assert store.delete_threshold(db, 1) == 0.002
    assert store.get_threshold(db, 1) is None and store.load_states(db) == {}
    assert store.delete_threshold(db, 1) is None


def test_states_are_saved_only_for_the_current_threshold(db: Database) -> None:
    store.set_threshold(db, 1, 0.001, T0)
    written = store.save_states(
        db,
        {
            (1, "BTC"): RuleState(1, T0, 0.001),
            (1, "ETH"): RuleState(4, T0, 0.0005),  # refers to an older threshold
            (2, "BTC"): RuleState(1, T0, 0.001),  # chat without a funding alert
        },
    )
    assert written == 1
    assert store.load_states(db) == {(1, "BTC"): RuleState(1, T0, 0.001)}
    store.save_states(db, [((1, "BTC"), RuleState(0, None, 0.001))])  # re-armed: updated
    assert store.load_states(db) == {(1, "BTC"): RuleState(0, None, 0.001)}


def test_targets_are_listening_chats_with_their_watches_and_mutes(db: Database) -> None:
    for chat_id in (1, 2, 3, 4):
        chats.subscribe(db, chat_id, "private", "", {"1h": 100e6}, T0)
    chats.set_watch(db, 1, RuleSpec("1h", 5e6, "SOL"), 30)
    chats.set_watch(db, 1, RuleSpec("4h", 9e6, "ETH"), 30)
    chats.set_mute(db, 2, T0 + 3_600_000, T0)
    chats.unsubscribe(db, 3, T0)
    chats.deactivate(db, 4, T0)
    for chat_id in (1, 2, 3, 4, 5):  # 5 never subscribed
        store.set_threshold(db, chat_id, 0.001 * chat_id, T0)
    targets = store.load_targets(db)
    assert targets == [
        store.FundingTarget(1, 0.001, None, ("ETH", "SOL"), T0),
        store.FundingTarget(2, 0.002, T0 + 3_600_000, (), T0),
    ]
    assert targets[1].muted(T0) and not targets[1].muted(T0 + 3_600_000)


def test_migrate_moves_setting_and_states_unless_the_new_chat_has_its_own(db: Database) -> None:
    store.set_threshold(db, -1, 0.001, T0)
    store.save_states(db, {(-1, "BTC"): RuleState(2, T0, 0.001)})
    assert store.migrate(db, -1, -1001) is True
    assert store.get_threshold(db, -1) is None and store.get_threshold(db, -1001) == 0.001
    assert store.load_states(db) == {(-1001, "BTC"): RuleState(2, T0, 0.001)}
    assert store.load_states(db, [-1001, 5]) == store.load_states(db)
    assert store.load_states(db, [5]) == {}
    store.set_threshold(db, -2, 0.003, T0)
    assert store.migrate(db, -2, -1001) is False  # -1001 keeps its own
    assert store.get_threshold(db, -1001) == 0.001 and store.get_threshold(db, -2) is None
    assert store.migrate(db, -7, -8) is False

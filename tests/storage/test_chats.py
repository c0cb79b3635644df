from pathlib import Path

import pytest
from sqlite_utils import Database

from bot.alerts.rules import Evaluator
from bot.domain import RuleSpec, RuleState
from storage import chats
from storage.db import open_db
from storage.schema import schema_version

T0 = 1_791_590_400_000
DEFAULTS = {"1h": 100e6, "24h": 1e9}


@pytest.fixture
def db(tmp_path: Path) -> Database:
    return open_db(tmp_path / "chats.db")


def specs(rows: list[chats.RuleRow]) -> list[tuple[str | None, str, float]]:
    return [(r.spec.coin, r.spec.window, r.spec.threshold) for r in rows]


def test_migration_adds_chats_and_rules_after_m001(db: Database) -> None:
    assert {"chats", "rules"} <= set(db.table_names())
    assert schema_version(db) >= 2
    assert db["rules"].pks == ["chat_id", "coin", "window"]


def test_new_chat_gets_defaults_returning_chat_keeps_its_settings(db: Database) -> None:
    first = chats.subscribe(db, 42, "private", "Ann", DEFAULTS, T0)
    assert first.outcome == "new"
    assert specs(list(first.rules)) == [(None, "1h", 100e6), (None, "24h", 1e9)]
    assert first.chat.subscribed and first.chat.active and first.chat.created_ms == T0

    chats.set_rule(db, 42, RuleSpec("1h", 250e6))
    chats.delete_rule(db, 42, None, "24h")
    assert chats.subscribe(db, 42, "private", "Ann", DEFAULTS, T0 + 1).outcome == "already"
    assert chats.unsubscribe(db, 42, T0 + 2) is True
    assert chats.unsubscribe(db, 42, T0 + 3) is False
    stopped = chats.get_chat(db, 42)
    assert stopped is not None and not stopped.subscribed and stopped.updated_ms == T0 + 2
    assert specs(chats.list_rules(db, 42)) == [(None, "1h", 250e6)]  # kept after /stop

    back = chats.subscribe(db, 42, "private", "Ann B", DEFAULTS, T0 + 4)
    assert back.outcome == "returning"
    assert specs(list(back.rules)) == [(None, "1h", 250e6)]  # not the defaults again
    assert back.chat.title == "Ann B" and back.chat.created_ms == T0


def test_empty_defaults_and_unknown_chat_type(db: Database) -> None:
    result = chats.subscribe(db, 7, "weird", "", {}, T0)
    assert result.rules == () and result.chat.type == "private"


def test_threshold_change_rearms_same_threshold_keeps_state(db: Database) -> None:
    chats.subscribe(db, 1, "private", "", DEFAULTS, T0)
    fired = RuleState(level=2, fired_at=T0 + 5, threshold=100e6)
    assert chats.save_states(db, {(1, "", "1h"): fired}) == 1
    row, previous = chats.set_rule(db, 1, RuleSpec("1h", 100e6))
    assert previous == RuleSpec("1h", 100e6) and row.state == fired
    row, previous = chats.set_rule(db, 1, RuleSpec("1h", 300e6))
    assert previous == RuleSpec("1h", 100e6) and row.state == RuleState()
    row, previous = chats.set_rule(db, 1, RuleSpec("4h", 1e9))
    assert previous is None and row.key == (1, "", "4h")
    assert [r.spec.window for r in chats.list_rules(db, 1)] == ["1h", "4h", "24h"]


def test_save_states_skips_rules_whose_threshold_changed_meanwhile(db: Database) -> None:
    chats.subscribe(db, 1, "private", "", DEFAULTS, T0)
    chats.set_rule(db, 1, RuleSpec("1h", 500e6))  # changed after the engine computed:
    stale = RuleState(level=1, fired_at=T0, threshold=100e6)
    fresh = RuleState(level=4, fired_at=T0, threshold=1e9)
    written = chats.save_states(
        db, [((1, "", "1h"), stale), ((1, "", "24h"), fresh), ((9, "", "1h"), fresh)]
    )
    assert written == 1
    by_window = {r.spec.window: r.state for r in chats.list_rules(db, 1)}
    assert by_window == {"1h": RuleState(), "24h": fresh}
    assert chats.save_states(db, {}) == 0


def test_one_watch_per_coin_and_the_cap(db: Database) -> None:
    chats.subscribe(db, 5, "private", "", {}, T0)
    first = chats.set_watch(db, 5, RuleSpec("1h", 50e6, "BTC"), max_watches=3)
    assert first.previous is None and first.replaced_windows == ()
    second = chats.set_watch(db, 5, RuleSpec("4h", 80e6, "BTC"), max_watches=3)
    assert second.previous == RuleSpec("1h", 50e6, "BTC")
    assert second.replaced_windows == ("1h",)
    assert specs(chats.list_rules(db, 5)) == [("BTC", "4h", 80e6)]
    chats.set_watch(db, 5, RuleSpec("1h", 1e6, "ETH"), max_watches=3)
    chats.set_watch(db, 5, RuleSpec("1h", 1e6, "SOL"), max_watches=3)
    with pytest.raises(chats.WatchLimitError):
        chats.set_watch(db, 5, RuleSpec("1h", 1e6, "DOGE"), max_watches=3)
    # Replacing a coin already watched is allowed at the cap; market rules don't count.
    chats.set_rule(db, 5, RuleSpec("1h", 100e6))
    chats.set_watch(db, 5, RuleSpec("15m", 2e6, "SOL"), max_watches=3)
    assert specs(chats.list_rules(db, 5)) == [
        (None, "1h", 100e6),
        ("BTC", "4h", 80e6),
        ("ETH", "1h", 1e6),
        ("SOL", "15m", 2e6),
    ]
    assert chats.delete_watch(db, 5, "ETH") == ["1h"]
    assert chats.delete_watch(db, 5, "ETH") == []
    with pytest.raises(ValueError):
        chats.set_watch(db, 5, RuleSpec("1h", 1e6), max_watches=3)


def test_active_rules_only_for_subscribed_reachable_chats_with_states(db: Database) -> None:
    for chat_id in (1, 2, 3):
        chats.subscribe(db, chat_id, "private", "", {"1h": 100e6}, T0)
    chats.set_watch(db, 1, RuleSpec("15m", 5e6, "ETH"), 30)
    chats.unsubscribe(db, 2, T0)
    assert chats.deactivate(db, 3, T0) is True
    assert chats.deactivate(db, 3, T0) is False
    state = RuleState(level=1, fired_at=T0 + 9, threshold=5e6)
    chats.save_states(db, {(1, "ETH", "15m"): state})
    active = chats.load_active_rules(db)
    assert [(r.key, r.state) for r in active] == [
        ((1, "", "1h"), RuleState()),
        ((1, "ETH", "15m"), state),
    ]
    assert [c.chat_id for c in chats.load_active_chats(db)] == [1]
    # Blocked then /start again: active and subscribed.
    assert chats.subscribe(db, 3, "private", "", {}, T0).outcome == "returning"
    assert [c.chat_id for c in chats.load_active_chats(db)] == [1, 3]


def test_persisted_states_restore_an_evaluator_without_repeating(db: Database) -> None:
    chats.subscribe(db, 1, "private", "", {"1h": 100e6}, T0)
    engine = Evaluator()
    for rule in chats.load_active_rules(db):
        engine.set(rule.key, rule.spec, rule.state)
    assert len(engine.tick({(None, "1h"): 150e6}, T0)) == 1
    chats.save_states(db, engine.take_changed())
    restarted = Evaluator()
    for rule in chats.load_active_rules(db):
        restarted.set(rule.key, rule.spec, rule.state)
    assert restarted.tick({(None, "1h"): 150e6}, T0 + 1000) == []  # no repeat after restart
    assert len(restarted.tick({(None, "1h"): 210e6}, T0 + 2000)) == 1  # 2x escalation


def test_mute_and_unmute(db: Database) -> None:
    chats.subscribe(db, 1, "private", "", {}, T0)
    assert chats.set_mute(db, 1, T0 + 60_000, T0) is True
    chat = chats.get_chat(db, 1)
    assert chat is not None and chat.muted(T0) and not chat.muted(T0 + 60_000)
    chats.set_mute(db, 1, None, T0)
    chat = chats.get_chat(db, 1)
    assert chat is not None and chat.muted_until_ms is None and not chat.muted(T0)
    assert chats.set_mute(db, 99, T0, T0) is False


def test_migrate_moves_chat_rules_and_states(db: Database) -> None:
    chats.subscribe(db, -55, "group", "Desk", {"1h": 100e6}, T0)
    chats.set_watch(db, -55, RuleSpec("4h", 20e6, "BTC"), 30)
    chats.set_mute(db, -55, T0 + 10, T0)
    state = RuleState(level=1, fired_at=T0, threshold=100e6)
    chats.save_states(db, {(-55, "", "1h"): state})
    assert chats.migrate_chat(db, -55, -1000055, T0 + 1) is True
    assert chats.get_chat(db, -55) is None and chats.list_rules(db, -55) == []
    moved = chats.get_chat(db, -1000055)
    assert moved is not None
    assert (moved.type, moved.title, moved.subscribed, moved.muted_until_ms) == (
        "supergroup",
        "Desk",
        True,
        T0 + 10,
    )
    assert [(r.key, r.state) for r in chats.list_rules(db, -1000055)] == [
        ((-1000055, "", "1h"), state),
        ((-1000055, "BTC", "4h"), RuleState()),
    ]
    assert chats.migrate_chat(db, -55, -1000055, T0 + 2) is False  # already moved
    assert chats.migrate_chat(db, -1000055, -1000055, T0 + 2) is False


def test_migrate_into_an_existing_chat_keeps_the_new_chats_rules(db: Database) -> None:
    chats.subscribe(db, -55, "group", "Old", {"1h": 100e6, "24h": 1e9}, T0)
    chats.subscribe(db, -1000055, "supergroup", "New", {"1h": 300e6}, T0)
    chats.unsubscribe(db, -1000055, T0)
    assert chats.migrate_chat(db, -55, -1000055, T0 + 1)
    assert specs(chats.list_rules(db, -1000055)) == [(None, "1h", 300e6), (None, "24h", 1e9)]
    new = chats.get_chat(db, -1000055)
    assert new is not None and new.subscribed and new.title == "New"
    assert db.execute("SELECT count(*) FROM rules WHERE chat_id = -55").fetchone() == (0,)


def test_corrupt_state_rearms_instead_of_failing(db: Database) -> None:
    chats.subscribe(db, 1, "private", "", {"1h": 100e6}, T0)
    db.execute("UPDATE rules SET level = 3 WHERE chat_id = 1")  # not a power of two
    assert chats.list_rules(db, 1)[0].state == RuleState()

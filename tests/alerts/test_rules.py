"""Rule state machine and the grouping evaluator (bot/alerts/rules.py)."""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Hashable, Iterable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.alerts.rules import ESCALATION, FIRST, Alert, Evaluator, Fire, evaluate, multiple_reached
from bot.domain import MAX_MULTIPLE, RuleSpec, RuleState

M = 1_000_000
THR = 100 * M


def run(totals: Iterable[float], threshold: float = THR) -> list[tuple[int, Fire]]:
    """Feed ``totals`` in order; return (index, fire) for each alert."""
    state = RuleState()
    fires = []
    for i, total in enumerate(totals):
        state, fire = evaluate(state, total, threshold, now_ms=i)
        if fire is not None:
            fires.append((i, fire))
    return fires


def summary(fires: list[tuple[int, Fire]]) -> list[tuple[int, str, int]]:
    return [(i, f.kind, f.multiple) for i, f in fires]


def test_fires_once_when_total_reaches_threshold_exactly() -> None:
    fires = run([0, 50 * M, 99.9 * M, 100 * M, 120 * M, 150 * M, 110 * M])
    assert summary(fires) == [(3, FIRST, 1)]
    assert fires[0][1].total == 100 * M and fires[0][1].threshold == THR
    assert not fires[0][1].is_escalation


def test_escalates_at_each_doubling() -> None:
    fires = run([100 * M, 199 * M, 200 * M, 300 * M, 399 * M, 400 * M, 800 * M, 900 * M])
    assert summary(fires) == [
        (0, FIRST, 1),
        (2, ESCALATION, 2),
        (5, ESCALATION, 4),
        (6, ESCALATION, 8),
    ]
    assert fires[1][1].is_escalation


def test_jump_sends_one_alert_at_the_highest_doubling_reached() -> None:
    assert summary(run([500 * M])) == [(0, FIRST, 4)]
    assert summary(run([100 * M, 500 * M, 700 * M, 800 * M])) == [
        (0, FIRST, 1),
        (1, ESCALATION, 4),
        (3, ESCALATION, 8),
    ]


def test_rearms_below_80_percent_not_at_90_or_exactly_80() -> None:
    fires = run([150 * M, 90 * M, 80 * M, 150 * M, 79.99 * M, 100 * M])
    assert summary(fires) == [(0, FIRST, 1), (5, FIRST, 1)]


def test_escalation_level_is_kept_until_rearm() -> None:
    # Having alerted 4x, falling back to 1.5x and climbing to 4x again is not news.
    fires = run([400 * M, 150 * M, 450 * M, 70 * M, 400 * M])
    assert summary(fires) == [(0, FIRST, 4), (4, FIRST, 4)]


def test_oscillation_around_threshold_does_not_spam() -> None:
    wobble = [THR * (1 + 0.15 * math.sin(i / 3)) for i in range(200)]
    assert min(wobble) >= 0.85 * THR and max(wobble) < 2 * THR
    assert summary(run(wobble)) == [(0, FIRST, 1)]


def test_deep_oscillation_fires_once_per_cycle() -> None:
    cycles = [50 * M, 110 * M] * 5
    assert [i for i, _ in run(cycles)] == [1, 3, 5, 7, 9]


def test_rule_set_while_above_fires_at_once() -> None:
    state, fire = evaluate(RuleState(), 300 * M, THR, now_ms=7)
    assert fire == Fire(kind=FIRST, multiple=2, total=300 * M, threshold=THR)
    assert state == RuleState(level=2, fired_at=7, threshold=THR)


def test_threshold_change_resets_and_fires_if_already_above() -> None:
    state, _ = evaluate(RuleState(), 150 * M, THR, now_ms=1)
    assert state.level == 1
    state, fire = evaluate(state, 150 * M, THR, now_ms=2)
    assert fire is None
    # Lowered to 120M while the total is 150M: the new rule fires at once.
    state, fire = evaluate(state, 150 * M, 120 * M, now_ms=3)
    assert fire is not None and fire.kind == FIRST and fire.threshold == 120 * M
    # Raised above the total: armed, silent.
    state, fire = evaluate(state, 150 * M, 200 * M, now_ms=4)
    assert fire is None and state == RuleState(threshold=200 * M)


def test_unchanged_state_is_the_same_object_and_nan_changes_nothing() -> None:
    state, _ = evaluate(RuleState(), 150 * M, THR, now_ms=1)
    assert evaluate(state, 120 * M, THR)[0] is state
    assert evaluate(state, math.nan, THR) == (state, None)


@pytest.mark.parametrize("bad", [0.0, -1.0, math.nan, math.inf])
def test_bad_threshold_is_a_programming_error(bad: float) -> None:
    with pytest.raises(ValueError):
        evaluate(RuleState(), 1.0, bad)


def test_state_round_trips_through_a_json_row() -> None:
    state, _ = evaluate(RuleState(), 250 * M, THR, now_ms=1_700_000_000_000)
    row = json.loads(json.dumps(state.to_row()))
    assert RuleState.from_row(row) == state
    assert RuleState.from_row(RuleState().to_row()) == RuleState()
    with pytest.raises(ValueError):
        RuleState.from_row({"level": 3, "fired_at": 1, "threshold": 1.0})


def test_restart_from_persisted_state_does_not_repeat() -> None:
    state, fire = evaluate(RuleState(), 150 * M, THR, now_ms=1)
    assert fire is not None
    restored = RuleState.from_row(state.to_row())
    assert evaluate(restored, 150 * M, THR, now_ms=2)[1] is None
    assert evaluate(restored, 210 * M, THR, now_ms=3)[1] == Fire(ESCALATION, 2, 210 * M, THR)


def test_multiple_reached_is_consistent_with_the_comparisons() -> None:
    assert multiple_reached(99.99, 100) == 0
    assert multiple_reached(100, 100) == 1
    assert multiple_reached(399.99, 100) == 2
    assert multiple_reached(1e12, 1) == 2**39


def reference(totals: list[float], threshold: float) -> list[tuple[int, int]]:
    """An independent statement of the semantics: (index, multiple) per alert."""
    alerted = 0  # highest multiple alerted since last re-arm
    out = []
    for i, t in enumerate(totals):
        if alerted and t < 0.8 * threshold:
            alerted = 0
        k = 0
        while t >= threshold * 2 ** (k + 1):
            k += 1
        if t >= threshold and 2**k > alerted:
            alerted = 2**k
            out.append((i, 2**k))
    return out


@given(st.lists(st.floats(min_value=0, max_value=2000), max_size=60))
def test_matches_reference_semantics(totals: list[float]) -> None:
    assert [(i, f.multiple) for i, f in run(totals, 100.0)] == reference(totals, 100.0)


# --- Evaluator -----------------------------------------------------------------------

H1 = RuleSpec(window="1h", threshold=THR)
BTC = RuleSpec(window="1h", threshold=10 * M, coin="BTC")


def fired(alerts: list[Alert], spec: RuleSpec | None = None) -> dict[Hashable, int]:
    """entry -> multiple, over all alerts (optionally of one spec)."""
    return {e: a.fire.multiple for a in alerts if spec in (None, a.spec) for e in a.entries}


def test_spec_scope_and_key() -> None:
    assert H1.scope == "market" and H1.key == (None, "1h")
    assert BTC.scope == "coin" and BTC.key == ("BTC", "1h")


def test_identical_rules_share_one_evaluation_and_fan_out() -> None:
    ev = Evaluator()
    for chat in range(1000):
        ev.set((chat, "market:1h"), H1)
    ev.set((5, "coin:BTC"), BTC)
    assert len(ev) == 1001 and ev.group_count == 2
    assert ev.keys() == {(None, "1h"), ("BTC", "1h")}
    alerts = ev.tick({(None, "1h"): 120 * M, ("BTC", "1h"): 1 * M}, now_ms=10)
    assert len(alerts) == 1 and alerts[0].spec == H1
    assert set(alerts[0].entries) == {(c, "market:1h") for c in range(1000)}
    assert ev.group_count == 2
    assert ev.state((3, "market:1h")) == RuleState(level=1, fired_at=10, threshold=THR)
    assert ev.tick({(None, "1h"): 130 * M, ("BTC", "1h"): 1 * M}, now_ms=11) == []


def test_late_subscriber_gets_its_own_first_alert_and_merges_on_escalation() -> None:
    ev = Evaluator()
    ev.set("early", H1)
    assert fired(ev.tick({(None, "1h"): 150 * M}, now_ms=1)) == {"early": 1}
    ev.set("late", H1)
    assert ev.group_count == 2
    # Same total: only the newcomer hears about it (set while above fires at once).
    assert fired(ev.tick({(None, "1h"): 150 * M}, now_ms=2)) == {"late": 1}
    assert fired(ev.tick({(None, "1h"): 150 * M}, now_ms=3)) == {}
    # Both escalate together and from now on share one state.
    alerts = ev.tick({(None, "1h"): 260 * M}, now_ms=4)
    assert len(alerts) == 1 and fired(alerts) == {"early": 2, "late": 2}
    assert ev.group_count == 1


def test_groups_split_by_state_rearm_and_merge_back() -> None:
    ev = Evaluator()
    ev.set("a", H1)
    ev.tick({(None, "1h"): 110 * M}, now_ms=1)
    ev.set("b", H1)
    # b joined at 85M (between re-arm and threshold): a stays fired, b armed.
    assert ev.tick({(None, "1h"): 85 * M}, now_ms=2) == []
    assert ev.state("a").level == 1 and ev.state("b").armed
    assert fired(ev.tick({(None, "1h"): 105 * M}, now_ms=3)) == {"b": 1}
    assert ev.tick({(None, "1h"): 70 * M}, now_ms=4) == []
    assert ev.group_count == 1 and ev.state("a") == ev.state("b") == RuleState(threshold=THR)


@pytest.mark.parametrize(("fired_chats", "late_chats"), [(3, 1), (1, 3)])
def test_rearm_merging_groups_reports_every_changed_state(
    fired_chats: int, late_chats: int
) -> None:
    ev = Evaluator()
    fired_ids = [f"f{i}" for i in range(fired_chats)]
    late_ids = [f"l{i}" for i in range(late_chats)]
    for entry in fired_ids:
        ev.set(entry, H1)
    ev.tick({(None, "1h"): 150 * M}, now_ms=1)
    for entry in late_ids:
        ev.set(entry, H1)
    ev.take_changed()
    ev.tick({(None, "1h"): 10 * M}, now_ms=2)
    armed = RuleState(threshold=THR)
    changed = ev.take_changed()
    # Every re-armed entry is reported; unchanged ones may be (rewriting is harmless).
    assert set(fired_ids) <= set(changed) <= set(fired_ids + late_ids)
    assert set(changed.values()) == {armed}
    assert ev.group_count == 1 and all(ev.state(e) == armed for e in fired_ids + late_ids)


def test_changed_threshold_resets_only_that_entry() -> None:
    ev = Evaluator()
    ev.set("a", H1)
    ev.set("b", H1)
    ev.tick({(None, "1h"): 150 * M}, now_ms=1)
    ev.set("b", H1)  # same rule again: state kept, no repeat
    assert ev.tick({(None, "1h"): 150 * M}, now_ms=2) == []
    ev.set("b", RuleSpec(window="1h", threshold=140 * M))
    assert fired(ev.tick({(None, "1h"): 150 * M}, now_ms=3)) == {"b": 1}
    assert ev.spec("b") == RuleSpec(window="1h", threshold=140 * M)


def test_missing_total_changes_nothing() -> None:
    ev = Evaluator()
    ev.set("a", BTC)
    ev.tick({("BTC", "1h"): 20 * M}, now_ms=1)
    before = ev.state("a")
    assert ev.tick({}, now_ms=2) == [] and ev.state("a") is before


def test_remove_and_take_changed_for_persistence() -> None:
    ev = Evaluator()
    ev.set("a", H1)
    ev.set("b", BTC)
    assert set(ev.take_changed()) == {"a", "b"}
    assert ev.take_changed() == {}
    ev.tick({(None, "1h"): 200 * M, ("BTC", "1h"): 1 * M}, now_ms=5)
    assert ev.take_changed() == {"a": RuleState(level=2, fired_at=5, threshold=THR)}
    ev.remove("a")
    ev.remove("missing")
    assert "a" not in ev and len(ev) == 1 and ev.keys() == {("BTC", "1h")}


def test_restored_state_survives_restart_without_repeat() -> None:
    ev = Evaluator()
    ev.set("a", H1)
    ev.tick({(None, "1h"): 150 * M}, now_ms=1)
    rows = {e: s.to_row() for e, s in ev.take_changed().items()}
    ev2 = Evaluator()
    for entry, row in rows.items():
        ev2.set(entry, H1, RuleState.from_row(row))
    assert ev2.tick({(None, "1h"): 150 * M}, now_ms=2) == []
    # A persisted state for an old threshold does not carry over to a new one.
    ev2.set("a", RuleSpec("1h", 120 * M), RuleState.from_row(rows["a"]))
    assert fired(ev2.tick({(None, "1h"): 150 * M}, now_ms=3)) == {"a": 1}


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 11), st.sampled_from([None, 50.0, 100.0, 200.0])),
        max_size=25,
    ),
    st.lists(st.floats(min_value=0, max_value=1000), min_size=1, max_size=25),
)
def test_evaluator_matches_independent_per_entry_states(
    ops: list[tuple[int, float | None]], totals: list[float]
) -> None:
    """Grouping is an optimisation only: same alerts as one evaluate() per entry, and
    what take_changed() reports is enough to persist every state."""
    ev = Evaluator()
    persisted: dict[Hashable, RuleState] = {}
    solo: dict[int, tuple[float, RuleState]] = {}
    for step, total in enumerate(totals):
        for entry, threshold in ops[step::5][:3]:
            if threshold is None:
                ev.remove(entry)
                solo.pop(entry, None)
            else:
                ev.set(entry, RuleSpec("1h", threshold))
                prev = solo.get(entry)
                keep = prev is not None and prev[0] == threshold
                solo[entry] = (threshold, prev[1] if keep and prev else RuleState())
        got = fired(ev.tick({(None, "1h"): total}, now_ms=step))
        want = {}
        for entry, (threshold, state) in solo.items():
            new, fire = evaluate(state, total, threshold, now_ms=step)
            solo[entry] = (threshold, new)
            if fire is not None:
                want[entry] = fire.multiple
        assert got == want
        for entry, (_, state) in solo.items():
            assert ev.state(entry) == state
        persisted.update(ev.take_changed())
        assert {e: persisted[e] for e in solo} == {e: st for e, (_, st) in solo.items()}


@pytest.mark.parametrize("total", [9e16, 9.3e18, 1e300, math.inf])
def test_absurd_totals_give_a_capped_level_that_sqlite_stores(total: float) -> None:
    state, fire = evaluate(RuleState(), total, 1.0, now_ms=5)
    assert fire is not None and fire.multiple == state.level <= MAX_MULTIPLE
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE r (level INTEGER NOT NULL, fired_at INTEGER, thr REAL)")
    row = state.to_row()
    conn.execute(
        "INSERT INTO r VALUES (?, ?, ?)", (row["level"], row["fired_at"], row["threshold"])
    )
    assert RuleState.from_row(row) == state
    # At the cap a still higher total announces nothing more, tick after tick.
    again, fire = evaluate(state, total * 2, 1.0, now_ms=6)
    assert fire is None and again is state


def test_a_stored_level_beyond_the_cap_is_corrupt() -> None:
    with pytest.raises(ValueError):
        RuleState.from_row({"level": MAX_MULTIPLE * 2, "fired_at": 1, "threshold": 1.0})

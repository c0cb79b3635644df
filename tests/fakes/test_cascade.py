"""The soak's accounting: alerts owed on stored totals, duplicates, lost liquidation spans."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bench.fakes.cascade import (
    Received,
    Rule,
    Sent,
    Step,
    lost_span_s,
    multiple_reached,
    near_boundary,
    parse_alert,
    plan_cascade,
    score_alerts,
    stored_totals,
)
from bot.alerts.rules import multiple_reached as rules_multiple

RULE = Rule(1, "1h", 1e6)


def got(multiple: int, escalation: bool, chat_id: int = 1, coin: str | None = None) -> Received:
    return Received(chat_id, coin, "1h", multiple, escalation)


def test_first_and_final_multiple_are_owed_intermediate_ones_may_be_skipped() -> None:
    totals = {None: 9.5e6}  # 9.5x: final multiple 8
    ok = score_alerts([RULE], totals, [got(1, False), got(8, True)])
    assert (ok.owed, ok.lost, ok.duplicates, ok.unexpected) == (2, 0, 0, 0)
    no_final = score_alerts([RULE], totals, [got(1, False), got(2, True), got(4, True)])
    assert no_final.lost == 1
    no_first = score_alerts([RULE], totals, [got(8, True)])
    assert no_first.lost == 1
    nothing = score_alerts([RULE], totals, [])
    assert nothing.lost == 2


def test_a_jump_straight_past_the_threshold_is_one_first_alert() -> None:
    score = score_alerts([RULE], {None: 5e6}, [got(4, False)])
    assert (score.lost, score.unexpected) == (0, 0)


def test_duplicates_phantoms_and_alerts_to_muted_chats_are_counted() -> None:
    totals = {None: 2.5e6}
    twice = score_alerts([RULE], totals, [got(1, False), got(2, True), got(2, True)])
    assert twice.duplicates == 1 and twice.lost == 0
    beyond = score_alerts([RULE], totals, [got(1, False), got(2, True), got(4, True)])
    assert beyond.unexpected == 1
    muted = score_alerts([RULE], totals, [got(1, False), got(2, True), got(1, False, chat_id=9)])
    assert muted.unexpected == 1
    below = score_alerts([RULE], {None: 0.5e6}, [got(1, False)])
    assert below.unexpected == 1 and below.owed == 0


def test_coin_rules_read_the_coin_total() -> None:
    rule = Rule(1, "1h", 1e6, "BTC")
    totals = {None: 50e6, "BTC": 1.2e6}
    assert score_alerts([rule], totals, [got(1, False, coin="BTC")]).lost == 0
    assert score_alerts([rule], totals, [got(1, False)]).unexpected == 1


@given(st.floats(1.0, 1e6), st.floats(1e-3, 1e9))
def test_multiple_reached_agrees_with_the_bot_away_from_float_ties(t: float, s: float) -> None:
    if not near_boundary(s, t):
        assert multiple_reached(s, t) == rules_multiple(s, t)


def test_parse_alert_reads_rule_and_multiple() -> None:
    first = "🚨 $1.2M liquidated in 1h\nCrossed your $1M threshold.\n\nLongs ..."
    assert parse_alert(5, first) == Received(5, None, "1h", 1, False)
    jump = "🚨 BTC: $5.2M liquidated in 4h\nCrossed your $1M threshold, already 4× over."
    assert parse_alert(5, jump) == Received(5, "BTC", "4h", 4, False)
    esc = "<b>🚨 $8.1M liquidated in 24h</b>\n⏫ Escalation: now 8× your $1M threshold."
    assert parse_alert(5, esc) == Received(5, None, "24h", 8, True)
    assert parse_alert(5, "✅ Alert when market-wide liquidations reach $1M in 1h.") is None


def test_lost_span_counts_only_what_was_delivered_before_the_kill() -> None:
    step = Step(0.0, "bybit", "BTCUSDT", "BTC", True, "1", "60000", 60_000.0)
    sent = [
        Sent(step, 1, 100.0, 1),  # stored
        Sent(step, 2, 100.4, 1),  # delivered, not stored: lost, 0.6 s before the kill
        Sent(step, 3, 100.8, 0),  # nobody listening: not collected, not lost
        Sent(step, 4, 101.2, 1),  # after the kill
    ]
    stored = {("bybit", "BTCUSDT", 1)}
    assert lost_span_s(sent, stored, kill_at=101.0) == (1, 101.0 - 100.4)
    assert stored_totals(sent, stored) == {None: 60_000.0, "BTC": 60_000.0}


def test_plan_is_seeded_and_grows_to_about_the_total() -> None:
    plan = plan_cascade(3, 8.0, 40e6, 160)
    assert plan == plan_cascade(3, 8.0, 40e6, 160)
    assert 20e6 < sum(s.usd for s in plan) < 80e6
    assert [s.at_s for s in plan] == sorted(s.at_s for s in plan)

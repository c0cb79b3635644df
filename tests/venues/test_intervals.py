"""IntervalTracker: the interval a symbol's funding schedule shows, and when to re-read."""

from hypothesis import given
from hypothesis import strategies as st

from bot.domain import HOUR_MS, MINUTE_MS, MarketSnapshot
from bot.venues.intervals import IntervalTracker, at_cap

T0 = 1_791_590_400_000  # 00:00 UTC


def snap(
    next_ms: int | None, interval: float | None = 8.0, rate: float = 0.0001
) -> MarketSnapshot:
    return MarketSnapshot(
        venue="binance", symbol="MYXUSDT", coin="MYX", ts_ms=0, funding_rate=rate,
        funding_interval_h=interval, next_funding_ms=next_ms, mark_price=1.0, oi_base=None,
        oi_usd=None,
    )  # fmt: skip


def poll(tracker: IntervalTracker, ts: int, next_ms: int | None, **kw: object) -> MarketSnapshot:
    s = snap(next_ms, **kw)  # type: ignore[arg-type]
    tracker.follow([s], ts)
    return s


def test_at_cap_needs_both_bounds_and_reaches_them() -> None:
    caps = (0.02, -0.02)
    assert at_cap(0.02, caps) and at_cap(-0.02, caps) and at_cap(0.03, caps)
    assert not at_cap(0.0199, caps) and not at_cap(-0.0199, caps)
    assert not at_cap(None, caps) and not at_cap(0.02, None)
    assert at_cap(float("0.00300000"), (float("0.00300000"), -0.003))


def test_a_settlement_seen_between_two_polls_gives_the_interval() -> None:
    tracker = IntervalTracker()
    settle = T0 + 8 * HOUR_MS
    assert poll(tracker, settle - MINUTE_MS, settle).funding_interval_h == 8.0
    assert tracker.step("MYXUSDT") is None  # no settlement seen yet: the parser's 8 h stays
    after = poll(tracker, settle + MINUTE_MS, settle + HOUR_MS)
    assert after.funding_interval_h == 1.0 and tracker.step("MYXUSDT") == 1.0
    # The step holds while the schedule does, and the next settlement confirms it.
    assert poll(tracker, settle + 30 * MINUTE_MS, settle + HOUR_MS).funding_interval_h == 1.0
    assert poll(tracker, settle + 61 * MINUTE_MS, settle + 2 * HOUR_MS).funding_interval_h == 1


def test_moves_that_are_not_one_settlement_say_nothing() -> None:
    settle = T0 + 8 * HOUR_MS
    before = settle - MINUTE_MS
    cases = [
        (settle - 4 * HOUR_MS, settle - 3 * HOUR_MS, settle + 4 * HOUR_MS),  # rescheduled
        (before, settle + MINUTE_MS, settle - 4 * HOUR_MS),  # moved back
        (before, settle + MINUTE_MS, settle + 90 * MINUTE_MS),  # not whole hours
        (before, before + HOUR_MS, settle + 2 * HOUR_MS),  # an hour apart: two settlements fit
        (before, settle + MINUTE_MS, settle + 25 * HOUR_MS),  # longer than any interval
    ]
    for first, ts, next_ms in cases:
        tracker = IntervalTracker()
        poll(tracker, first, settle)
        assert poll(tracker, ts, next_ms).funding_interval_h == 8.0, (ts, next_ms)
        assert tracker.step("MYXUSDT") is None
    tracker = IntervalTracker()
    poll(tracker, settle - MINUTE_MS, settle)
    assert poll(tracker, settle + MINUTE_MS, None).funding_interval_h == 8.0
    assert tracker.step("MYXUSDT") is None


def test_recheck_once_per_disagreement_and_after_a_capped_settlement() -> None:
    tracker = IntervalTracker(recheck_ms=5 * MINUTE_MS)
    settle = T0 + 8 * HOUR_MS
    poll(tracker, settle - MINUTE_MS, settle)
    assert not tracker.recheck_due(settle, 0)
    poll(tracker, settle + MINUTE_MS, settle + HOUR_MS)  # the reference data said 8 h
    assert tracker.recheck_due(settle + MINUTE_MS, 0)
    assert not tracker.recheck_due(settle + MINUTE_MS, settle - MINUTE_MS)  # read 2 min ago
    tracker.reference_read()  # ... and it still says 8 h: do not re-read every poll
    poll(tracker, settle + 2 * MINUTE_MS, settle + HOUR_MS)
    assert not tracker.recheck_due(settle + 2 * MINUTE_MS, 0)
    poll(tracker, settle + 3 * MINUTE_MS, settle + HOUR_MS, interval=1.0)  # now it agrees
    assert not tracker.recheck_due(settle + 3 * MINUTE_MS, 0)
    # A capped rate that settles: the venue switches it, so the reference data is re-read.
    capped = IntervalTracker()
    s = snap(settle, rate=0.02)
    capped.follow([s], settle - MINUTE_MS, {"MYXUSDT": (0.02, -0.02)})
    assert not capped.recheck_due(settle - MINUTE_MS, 0)
    capped.follow([snap(settle + HOUR_MS, interval=1.0)], settle + MINUTE_MS)
    assert capped.recheck_due(settle + MINUTE_MS, 0)


def test_symbols_gone_from_the_polls_are_forgotten() -> None:
    tracker = IntervalTracker()
    poll(tracker, T0, T0 + HOUR_MS)
    tracker.follow([], T0 + HOUR_MS)
    assert tracker.step("MYXUSDT") is None and not tracker._seen


@given(
    first_h=st.sampled_from([1, 2, 4, 8]),
    changes=st.lists(st.sampled_from([1, 2, 4, 8]), min_size=1, max_size=30),
    gaps_s=st.lists(st.integers(1, 2 * 3600), min_size=1, max_size=120),
    offset_s=st.integers(0, 8 * 3600),
)
def test_a_known_step_is_always_the_interval_in_force(
    first_h: int, changes: list[int], gaps_s: list[int], offset_s: int
) -> None:
    # The venue: settlements S0 < S1 < ...; the interval in force between Si and Si+1 is
    # their distance, and a change takes effect only at a settlement.
    settlements = [T0, T0 + first_h * HOUR_MS]
    for h in changes:
        settlements.append(settlements[-1] + h * HOUR_MS)
    tracker = IntervalTracker()
    ts = T0 + offset_s * 1000
    prev_i = None
    for gap in gaps_s:
        ts += gap * 1000
        i = max(k for k, s in enumerate(settlements) if s <= ts)
        if i + 1 >= len(settlements):
            break
        s = snap(settlements[i + 1], interval=None)
        tracker.follow([s], ts)
        truth = (settlements[i + 1] - settlements[i]) / HOUR_MS
        assert s.funding_interval_h in (None, truth)  # never a wrong interval
        if gap < 3600 and prev_i is not None and i == prev_i + 1:
            assert s.funding_interval_h == truth  # one settlement straddled: known at once
        prev_i = i

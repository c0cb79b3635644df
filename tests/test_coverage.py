"""Coverage of a window from uptime intervals: gaps, down time, live and complete flags."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.coverage import COMPLETE_VENUES, coverage_json, venue_coverage, window_coverage

MIN = 60_000
START = 1_767_225_600_000
END = START + 60 * MIN


def test_connected_over_the_whole_window_is_live_without_gaps() -> None:
    cov = venue_coverage("bybit", [(START - 5 * MIN, END + 5 * MIN)], START, END)
    assert cov.live is True
    assert cov.gaps == ()
    assert cov.down_ms == 0
    assert cov.complete is True


def test_gaps_are_the_complement_clipped_to_the_window() -> None:
    # Unsorted, overlapping intervals that stick out of the window on both sides.
    intervals = [
        (START + 30 * MIN, START + 40 * MIN),
        (START - 10 * MIN, START + 10 * MIN),
        (START + 35 * MIN, START + 50 * MIN),
        (START + 12 * MIN, START + 20 * MIN),
    ]
    cov = venue_coverage("binance", intervals, START, END)
    assert cov.gaps == (
        (START + 10 * MIN, START + 12 * MIN),
        (START + 20 * MIN, START + 30 * MIN),
        (START + 50 * MIN, END),
    )
    assert cov.down_ms == 2 * MIN + 10 * MIN + 10 * MIN
    assert cov.live is False
    assert cov.complete is False


def test_no_uptime_at_all_is_one_gap_over_the_whole_window() -> None:
    cov = window_coverage([], ["binance", "okx"], START, END)
    for venue in ("binance", "okx"):
        assert cov[venue].live is False
        assert cov[venue].gaps == ((START, END),)
        assert cov[venue].down_ms == END - START


def test_intervals_outside_the_window_do_not_count() -> None:
    rows = [("bybit", START - 20 * MIN, START), ("bybit", END, END + 5 * MIN)]
    cov = window_coverage(rows, ["bybit"], START, END)["bybit"]
    assert cov.gaps == ((START, END),)
    assert cov.live is False


def test_the_future_part_of_a_rounded_up_window_is_not_a_gap() -> None:
    now = END - 25_000  # the window end was rounded up past now
    cov = venue_coverage("okx", [(START, now)], START, END, now_ms=now)
    assert cov.live is True
    assert cov.down_ms == 0


def test_slack_treats_a_recently_extended_interval_as_open() -> None:
    now = END - 1_000
    last_extension = now - 20_000
    strict = venue_coverage("bybit", [(START, last_extension)], START, END, now_ms=now)
    assert strict.gaps == ((last_extension, now),)
    lenient = venue_coverage(
        "bybit", [(START, last_extension)], START, END, now_ms=now, slack_ms=30_000
    )
    assert lenient.live is True
    assert lenient.gaps == ()
    # A connection that died long before now is not rescued by the slack.
    dead = venue_coverage(
        "bybit", [(START, now - 120_000)], START, END, now_ms=now, slack_ms=30_000
    )
    assert dead.gaps == ((now - 120_000, now),)


def test_an_empty_interval_covers_nothing_and_does_not_split_a_gap() -> None:
    cov = venue_coverage("okx", [(START + 10 * MIN, START + 10 * MIN)], START, END)
    assert cov.gaps == ((START, END),)


def test_window_coverage_lists_each_enabled_venue_and_ignores_others() -> None:
    rows = [
        ("binance", START, END),
        ("okx", START, START + 30 * MIN),
        ("kraken", START, END),
    ]
    cov = window_coverage(rows, ["binance", "bybit", "okx"], START, END)
    assert list(cov) == ["binance", "bybit", "okx"]
    assert cov["binance"].live
    assert not cov["bybit"].live
    assert cov["okx"].gaps == ((START + 30 * MIN, END),)


def test_complete_flag_follows_the_venue_docs() -> None:
    assert frozenset({"bybit"}) == COMPLETE_VENUES
    cov = window_coverage([], ["binance", "bybit", "okx"], START, END)
    assert {v: c.complete for v, c in cov.items()} == {
        "binance": False,
        "bybit": True,
        "okx": False,
    }


def test_json_shape_is_exactly_the_contract() -> None:
    cov = window_coverage([("okx", START + MIN, END)], ["okx", "bybit"], START, END)
    out = coverage_json(cov)
    assert out == {
        "okx": {"live": False, "complete": False, "gaps": [[START, START + MIN]], "down_ms": MIN},
        "bybit": {"live": False, "complete": True, "gaps": [[START, END]], "down_ms": END - START},
    }


spans = st.lists(
    st.tuples(st.integers(-100, 1100), st.integers(0, 400)).map(lambda t: (t[0], t[0] + t[1])),
    max_size=8,
)


@given(spans, st.integers(0, 500), st.integers(1, 600))
def test_gaps_and_uptime_partition_the_window(
    intervals: list[tuple[int, int]], start: int, length: int
) -> None:
    end = start + length
    cov = venue_coverage("binance", intervals, start, end)
    covered = {t for s, e in intervals for t in range(max(s, start), min(e, end))}
    in_gaps = {t for s, e in cov.gaps for t in range(s, e)}
    # Every instant of the window is in exactly one of: an interval, a gap.
    assert covered | in_gaps == set(range(start, end))
    assert not covered & in_gaps
    assert cov.down_ms == len(in_gaps)
    assert cov.live == (not in_gaps)
    # Gaps are sorted, disjoint, non-empty and never touch each other.
    for (s1, e1), (s2, e2) in zip(cov.gaps, cov.gaps[1:], strict=False):
        assert s1 < e1 < s2 < e2

"""Coverage of a window from uptime intervals: gaps, down time, live and complete flags."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.totals.coverage import COMPLETE_VENUES, coverage_json, venue_coverage, window_coverage

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


def test_slack_treats_a_recently_extended_open_interval_as_open() -> None:
    now = END - 1_000
    last_extension = now - 20_000
    strict = venue_coverage("bybit", [(START, last_extension, True)], START, END, now_ms=now)
    assert strict.gaps == ((last_extension, now),)
    lenient = venue_coverage(
        "bybit", [(START, last_extension, True)], START, END, now_ms=now, slack_ms=30_000
    )
    assert lenient.live is True
    assert lenient.gaps == ()
    # A connection that died long before now is not rescued by the slack.
    dead = venue_coverage(
        "bybit", [(START, now - 120_000, True)], START, END, now_ms=now, slack_ms=30_000
    )
    assert dead.gaps == ((now - 120_000, now),)


def test_slack_never_extends_a_closed_interval() -> None:
    # The feed went down 20 s ago and its interval was closed: an outage in progress is
    # down time up to now, even within the open-interval slack (issue 7).
    now = END - 1_000
    dropped = now - 20_000
    for closed in ((START, dropped), (START, dropped, False)):
        cov = venue_coverage("okx", [closed], START, END, now_ms=now, slack_ms=60_000)
        assert cov.gaps == ((dropped, now),)
        assert cov.down_ms == 20_000 and not cov.live


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
        "okx": {
            "live": False,
            "complete": False,
            "gaps": [[START, START + MIN]],
            "down_ms": MIN,
            "not_collected_ms": 0,
        },
        "bybit": {
            "live": False,
            "complete": True,
            "gaps": [[START, END]],
            "down_ms": END - START,
            "not_collected_ms": 0,
        },
    }


def test_time_before_the_first_run_is_not_collected_not_down() -> None:
    # A fresh install started at START + 50m: every venue connected a second later.
    started = START + 50 * MIN
    rows = [(v, started + 1_000, END, True) for v in ("binance", "bybit", "okx")]
    cov = window_coverage(rows, ["binance", "bybit", "okx"], START, END, runs=[(started, END)])
    for c in cov.values():
        assert c.not_collected == ((START, started),)
        assert c.not_collected_ms == 50 * MIN
        assert c.down_ms == 1_000  # the wait for the first connection
        assert c.gaps == ((START, started + 1_000),)
        assert not c.live


def test_inside_a_run_a_venue_that_never_connected_is_down() -> None:
    started = START + 10 * MIN
    rows = [("binance", started, END, True)]
    cov = window_coverage(
        rows,
        ["binance", "okx"],
        START,
        END,
        now_ms=END,
        runs=[(started, END - 5_000, True)],
        slack_ms=60_000,
    )
    assert cov["okx"].down_ms == END - started
    assert cov["okx"].not_collected_ms == 10 * MIN
    assert cov["binance"].down_ms == 0


def test_a_crash_leaves_the_last_extension_as_the_end_of_the_run() -> None:
    # Run 1 killed at +20m (its last extension), run 2 from +30m: the 10 minutes between
    # are not collected; OKX dropped at +40m and is still down: down until now.
    runs = [(START, START + 20 * MIN, False), (START + 30 * MIN, END - 10_000, True)]
    rows = [
        ("okx", START, START + 20 * MIN, False),
        ("okx", START + 30 * MIN, START + 40 * MIN, False),
    ]
    cov = window_coverage(rows, ["okx"], START, END, now_ms=END, slack_ms=60_000, runs=runs)
    okx = cov["okx"]
    assert okx.not_collected == ((START + 20 * MIN, START + 30 * MIN),)
    assert okx.down_ms == 20 * MIN
    assert okx.gaps == ((START + 20 * MIN, START + 30 * MIN), (START + 40 * MIN, END))
    assert okx.to_json()["not_collected_ms"] == 10 * MIN


def test_connected_intervals_prove_liqwatch_ran_before_the_runs_table() -> None:
    # A database from before the runs table: no run rows, but OKX was connected, so the
    # time Binance missed then was a Binance outage, not "not collected".
    rows = [("okx", START, END, False), ("binance", START + 30 * MIN, END, False)]
    cov = window_coverage(rows, ["binance", "okx"], START, END, runs=[])
    assert cov["binance"].down_ms == 30 * MIN and cov["binance"].not_collected_ms == 0


def test_dropped_topics_make_a_complete_venue_partial() -> None:
    cov = venue_coverage("bybit", [(START, END)], START, END).with_health(None, 3)
    assert cov.partial and cov.to_json()["complete"] is False


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


timed = st.lists(
    st.tuples(st.integers(-100, 1100), st.integers(0, 400), st.booleans()).map(
        lambda t: (t[0], t[0] + t[1], t[2])
    ),
    max_size=6,
)


@given(
    timed,
    timed,
    st.integers(0, 500),
    st.integers(1, 600),
    st.integers(0, 1200),
    st.integers(0, 100),
)
def test_live_down_and_not_collected_partition_the_elapsed_window(
    intervals: list[tuple[int, int, bool]],
    runs: list[tuple[int, int, bool]],
    start: int,
    length: int,
    now: int,
    slack: int,
) -> None:
    """Restarts at any point: random runs (killed or closed) and random feed intervals."""
    end = start + length
    cov = venue_coverage("okx", intervals, start, end, now, slack, runs)
    horizon = max(start, min(end, now))

    def instants(spans: list[tuple[int, int, bool]]) -> set[int]:
        out: set[int] = set()
        for s, e, is_open in spans:
            stop = horizon if is_open and e >= horizon - slack else min(e, horizon)
            out.update(range(max(s, start), stop))
        return out

    window = set(range(start, horizon))
    live = instants(intervals)
    running = instants(runs) | live
    down = window - live - (window - running)
    not_collected = window - running
    assert cov.horizon_ms == horizon
    assert cov.down_ms == len(down) >= 0
    assert cov.not_collected_ms == len(not_collected) >= 0
    assert cov.down_ms + cov.not_collected_ms + len(live & window) == horizon - start
    assert {t for s, e in cov.not_collected for t in range(s, e)} == not_collected
    assert {t for s, e in cov.gaps for t in range(s, e)} == down | not_collected
    assert all(s < e for s, e in (*cov.gaps, *cov.not_collected))
    assert cov.live == (not down and not not_collected)

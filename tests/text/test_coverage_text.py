"""The one coverage wording: feeds, since when liqwatch collects, down venues, banner."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bench.fakes.telegram_html import html_error
from bot.text.coverage import (
    coverage_sentence,
    down_banner,
    feeds_sentence,
    status_coverage,
)
from bot.totals.coverage import VenueCoverage, venue_coverage, window_coverage

MIN = 60_000
START = 1_791_590_400_000 + 6 * 60 * MIN  # 2026-10-10 06:00 UTC
END = START + 60 * MIN
VENUES = ["binance", "bybit", "okx"]


def test_a_fresh_install_says_collecting_since_not_down() -> None:
    started = START + 53 * MIN
    rows = [(v, started, END, True) for v in VENUES]
    cov = window_coverage(rows, VENUES, START, END, END, 60_000, runs=[(started, END, True)])
    assert coverage_sentence(cov) == (
        "Binance and OKX publish samples; Bybit all. Collecting since 06:53 UTC."
    )
    assert status_coverage(cov["okx"], "24h") == "collecting since 06:53 UTC"
    assert "down" not in coverage_sentence(cov)


def test_restarts_inside_the_window_say_how_long_was_not_collected() -> None:
    runs = [(START, START + 20 * MIN, False), (START + 30 * MIN, END, True)]
    rows = [(v, s, e, False) for v in VENUES for s, e, _ in runs]
    cov = window_coverage(rows, VENUES, START, END, END, 60_000, runs=runs)
    assert coverage_sentence(cov).endswith(
        " Not collected for 10m of this window (liqwatch was not running)."
    )
    assert status_coverage(cov["bybit"], "24h") == "not collected 10m in the last 24h"


def test_a_live_outage_is_said_as_still_down_and_a_long_one_gets_the_banner() -> None:
    started = START + 5 * MIN
    rows = [
        ("binance", started, END - 12 * MIN, False),
        ("bybit", started, END, True),
        ("okx", started, END, True),
    ]
    raw = window_coverage(rows, VENUES, START, END, END, 60_000, runs=[(started, END, True)])
    cov = {v: c.with_health(12 * MIN if v == "binance" else None, 0) for v, c in raw.items()}
    assert coverage_sentence(cov) == (
        "Binance and OKX publish samples; Bybit all. Collecting since 06:05 UTC."
        " Binance was down 12m (still down) of this window."
    )
    assert status_coverage(cov["binance"], "24h") == ("collecting since 06:05 UTC, down 12m since")
    assert down_banner(cov) == ["⚠️ Binance down for 12m: figures below exclude it"]
    # Ten minutes is not "more than ten minutes".
    assert down_banner({"okx": cov["okx"].with_health(10 * MIN, 0)}) == []


def test_refused_topics_make_bybit_partial() -> None:
    bybit = venue_coverage("bybit", [(START, END)], START, END).with_health(None, 2)
    okx = venue_coverage("okx", [(START, END)], START, END)
    assert feeds_sentence({"bybit": bybit}) == "Bybit partial (2 topics refused)."
    assert feeds_sentence({"okx": okx, "bybit": bybit}) == (
        "OKX publishes samples; Bybit partial (2 topics refused)."
    )
    assert feeds_sentence({"bybit": bybit.with_health(None, 1)}) == (
        "Bybit partial (1 topic refused)."
    )


def test_sub_second_reconnect_waits_are_not_worth_a_clause() -> None:
    cov = {"okx": VenueCoverage("okx", False, False, ((START, START + 400),), 400)}
    assert coverage_sentence(cov) == "OKX publishes samples only."
    assert status_coverage(cov["okx"], "24h") == "down under a second in the last 24h"


spans = st.lists(
    st.tuples(st.integers(0, 3_600_000), st.integers(0, 3_600_000), st.booleans()).map(
        lambda t: (START + t[0], START + t[0] + t[1], t[2])
    ),
    max_size=5,
)


@given(
    spans,
    spans,
    st.integers(0, 3 * 3_600_000),
    st.none() | st.integers(0, 10**9),
    st.integers(0, 300),
)
def test_every_wording_is_valid_html_once_escaped_and_never_negative(
    intervals: list[tuple[int, int, bool]],
    runs: list[tuple[int, int, bool]],
    elapsed: int,
    outage: int | None,
    dropped: int,
) -> None:
    from html import escape

    rows = [(v, s, e, o) for v in VENUES for s, e, o in intervals]
    raw = window_coverage(rows, VENUES, START, END, START + elapsed, 60_000, runs=runs)
    cov = {v: c.with_health(outage, dropped if v == "bybit" else 0) for v, c in raw.items()}
    texts = [coverage_sentence(cov), *down_banner(cov)]
    texts += [status_coverage(c, "24h") for c in cov.values()]
    assert all(c.down_ms >= 0 and c.not_collected_ms >= 0 for c in cov.values())
    for text in texts:
        assert "down 0s" not in text and "for 0s" not in text  # nothing said of nothing
        assert html_error(f"<i>{escape(text)}</i>") is None

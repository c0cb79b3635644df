import math

from hypothesis import given
from hypothesis import strategies as st

from bot.chat_service import ChatSettings
from bot.coverage import VenueCoverage
from bot.events import HOUR_MS, MINUTE_MS
from bot.format_totals import (
    coverage_note,
    fit_html,
    format_liq,
    format_settings,
    format_summary_line,
    format_top,
    format_totals_text,
    utf16_len,
)
from bot.rules import RuleSpec, RuleState
from bot.totals_index import TotalsIndex
from bot.totals_result import Totals
from storage.chats import ChatRow, RuleRow
from tests.fakes.telegram_html import MAX_TEXT, html_error

T0 = 1_791_590_400_000
NOW = T0 + 12 * HOUR_MS


def totals(rows: list[tuple[int, str, str, str, float]], window_ms: int = 24 * HOUR_MS) -> Totals:
    """Totals through the real index; rows are (minutes ago, venue, coin, side, usd)."""
    index = TotalsIndex()
    index.load(
        sorted(
            (NOW - m * MINUTE_MS, v, c, s, usd, 1, usd, NOW - m * MINUTE_MS, f"{c}USDT")
            for m, v, c, s, usd in rows
        )
    )
    return index.query(window_ms, NOW, venues=("binance", "bybit", "okx"))


SAMPLE = [
    (5, "binance", "BTC", "long", 3_000_000.0),
    (50, "bybit", "ETH", "short", 1_000_000.0),
    (70, "okx", "BTC", "long", 250_000.0),
]


def test_fit_html_cuts_at_lines_and_stays_valid() -> None:
    lines = [f"<b>{i}</b> {'é' * 40} 🚀" for i in range(400)]
    text = "\n".join(lines)
    assert utf16_len(text) > MAX_TEXT
    cut = fit_html(text)
    assert utf16_len(cut) <= MAX_TEXT and cut.endswith("\n…")
    assert html_error(cut) is None
    assert cut.split("\n")[:-1] == lines[: len(cut.split("\n")) - 1]
    assert fit_html("short") == "short"


@given(st.lists(st.text(max_size=300), max_size=60))
def test_fit_html_never_exceeds_the_limit(lines: list[str]) -> None:
    assert utf16_len(fit_html("\n".join(lines), 500)) <= 500


def test_hostile_names_are_escaped() -> None:
    t = totals([(5, "binance", "<B&I>", "long", 1e6)])
    for text in (format_liq(t, [], NOW), format_top(t)):
        assert html_error(text) is None
        assert "&lt;B&amp;I&gt;" in text


def test_coverage_note_variants() -> None:
    assert coverage_note({}, ["binance", "bybit", "okx"]) == (
        "Binance and OKX publish samples; Bybit all."
    )
    assert coverage_note({}, ["okx"]) == "OKX publishes samples."
    assert coverage_note({}, ["bybit"]) == "Bybit publishes all."
    assert coverage_note({}, []) == ""
    down = {
        "binance": VenueCoverage("binance", False, False, ((0, 1),), 90 * MINUTE_MS),
        "bybit": VenueCoverage("bybit", False, True, ((0, 1),), 2 * HOUR_MS),
    }
    assert coverage_note(down) == (
        "Binance publishes samples; Bybit all."
        " Not live over the whole window: Binance (1h 30m down), Bybit (2h down)."
    )


def test_summary_line_and_cli_text_match_the_sums() -> None:
    t = totals(SAMPLE)
    expected_total = math.fsum(r[4] for r in SAMPLE)
    assert t.total_usd == expected_total == 4_250_000.0
    assert format_summary_line(t) == (
        "24h: $4.25M liquidated (longs 76%, shorts 24%), 3 events;"
        " top BTC $3.25M, ETH $1M; largest $3M BTC long on Binance"
    )
    assert format_summary_line(totals([])) == "24h: $0 liquidated (none)"
    text = format_totals_text(t)
    assert text.split("\n") == [
        "Liquidations, last 24h (2026-10-09 12:00 to 2026-10-10 12:00 UTC)",
        "Total   $4.25M  (3 liquidations)",
        "Longs   $3.25M  (76%)",
        "Shorts  $1M  (24%)",
        "By exchange:",
        "  Binance        $3M  1",
        "  Bybit          $1M  1",
        "  OKX          $250K  1",
        "Top coins:",
        "  BTC         $3.25M  2",
        "  ETH            $1M  1",
        "Largest $3M BTC long on Binance (BTCUSDT) at 2026-10-10 11:55:00 UTC",
        "Coverage: Binance and OKX publish samples; Bybit all.",
    ]


def test_long_lists_stay_within_telegram_limits() -> None:
    rows = [(i % 600, "bybit", f"C{i:04d}LONGNAME", "short", 1e3 + i) for i in range(2000)]
    t = totals(rows)
    for text in (format_top(t), format_liq(t, [t], NOW)):
        assert utf16_len(text) <= MAX_TEXT and html_error(text) is None
    assert len(format_top(t).split("\n")) < 30  # ranked list is capped
    chat = ChatRow(1, "private", "", True, True, None, T0, T0)
    watches = tuple(
        RuleRow(1, RuleSpec("24h", 1e12, f"COIN{i:016d}"), RuleState()) for i in range(30)
    )
    market = tuple(RuleRow(1, RuleSpec(w, 999e9), RuleState()) for w in ("5m", "1h", "24h"))
    text = format_settings(ChatSettings(chat, market + watches), NOW, {}, 30)
    assert utf16_len(text) <= MAX_TEXT and html_error(text) is None
    assert "(30 of 30)" in text

from hypothesis import given
from hypothesis import strategies as st

from bench.fakes.telegram_html import MAX_TEXT, html_error
from bot.chats import ChatSettings
from bot.domain import HOUR_MS, MINUTE_MS, RuleSpec, RuleState
from bot.text.totals import (
    coverage_note,
    fit_html,
    format_liq,
    format_settings,
    format_top,
    utf16_len,
)
from bot.totals.coverage import VenueCoverage
from bot.totals.index import TotalsIndex
from bot.totals.result import Totals
from storage.chats import ChatRow, RuleRow

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
    # One wording with the alerts' (issue 7): "samples only", "every liquidation".
    assert coverage_note({}, ["okx"]) == "OKX publishes samples only."
    assert coverage_note({}, ["bybit"]) == "Bybit publishes every liquidation."
    assert coverage_note({}, []) == ""
    down = {
        "binance": VenueCoverage("binance", False, False, ((0, 1),), 90 * MINUTE_MS),
        "bybit": VenueCoverage("bybit", False, True, ((0, 1),), 2 * HOUR_MS),
    }
    assert coverage_note(down) == (
        "Binance publishes samples; Bybit all."
        " Binance was down 1h 30m and Bybit was down 2h of this window."
    )


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

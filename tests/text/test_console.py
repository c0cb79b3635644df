"""Plain-text console output built from a real TotalsIndex."""

from bot.domain import WINDOWS, BucketDelta
from bot.text.console import coverage_note, summary_line, totals_text
from bot.totals.coverage import VenueCoverage
from bot.totals.index import TotalsIndex

T0 = 1_791_590_400_000


def index_with_data() -> TotalsIndex:
    index = TotalsIndex()
    index.apply(
        {
            (T0, "binance", "BTC", "long"): BucketDelta(
                3_000_000.0, 3, 2_000_000.0, T0 + 5, "BTCUSDT"
            ),
            (T0, "bybit", "ETH", "short"): BucketDelta(
                1_000_000.0, 2, 600_000.0, T0 + 9, "ETHUSDT"
            ),
        }
    )
    return index


def test_summary_line_has_both_windows_sides_venues_and_feeds() -> None:
    index = index_with_data()
    at = T0 + 30 * 60_000
    hour = index.query(WINDOWS["1h"], at)
    day = index.query(WINDOWS["24h"], at)
    line = summary_line(hour, day, {"binance": True, "bybit": False})
    assert "\n" not in line
    assert line.startswith("1h $4M [long $3M (75%) / short $1M (25%)]")
    assert "24h $4M" in line
    assert "binance $3M bybit $1M" in line
    assert line.endswith("feeds: binance up bybit DOWN")


def test_totals_text_lists_venues_coins_largest_and_coverage() -> None:
    index = index_with_data()
    cov = {
        "binance": VenueCoverage("binance", True, False, (), 0),
        "bybit": VenueCoverage("bybit", False, True, ((T0, T0 + 600_000),), 600_000),
    }
    text = totals_text(index.query(WINDOWS["1h"], T0 + 60_000, coverage=cov))
    assert "total $4M in 5 liquidations" in text
    assert "largest: $2M long BTC on binance" in text
    assert "coverage: binance live (sample), bybit gaps 10m (all)" in text
    assert coverage_note({}) == "coverage: unknown"

"""The alert message (bot/text/alert.py): exact figures, wording, escaping, length."""

from __future__ import annotations

import datetime as dtm

import pytest

from bench.fakes.telegram_html import MAX_TEXT, check_telegram_html
from bot.alerts.rules import ESCALATION, FIRST, Fire
from bot.domain import HOUR_MS, MINUTE_MS, RuleSpec
from bot.text.alert import coverage_note, fit, format_alert
from bot.totals.coverage import VenueCoverage
from bot.totals.result import CoinTotals, ExchangeTotals, Largest, Totals

M = 1_000_000.0
END = int(dtm.datetime(2026, 11, 22, 14, 10, tzinfo=dtm.UTC).timestamp() * 1000)
BIG_TS = int(dtm.datetime(2026, 11, 22, 14, 5, 30, tzinfo=dtm.UTC).timestamp() * 1000)


def totals(
    window: str,
    by_exchange: dict[str, ExchangeTotals],
    by_coin: dict[str, CoinTotals],
    largest: Largest | None = None,
    coverage: dict[str, VenueCoverage] | None = None,
) -> Totals:
    span = {"1h": HOUR_MS, "24h": 24 * HOUR_MS}[window]
    return Totals(
        window=window,
        start_ms=END - span,
        end_ms=END,
        long_usd=sum(t.long_usd for t in by_exchange.values()),
        short_usd=sum(t.short_usd for t in by_exchange.values()),
        long_count=sum(t.long_count for t in by_exchange.values()),
        short_count=sum(t.short_count for t in by_exchange.values()),
        by_exchange=by_exchange,
        by_coin=by_coin,
        largest=largest,
        coverage=coverage or {},
    )


def cov(venue: str, *, complete: bool, down_ms: int = 0) -> VenueCoverage:
    gaps = ((END - down_ms, END),) if down_ms else ()
    return VenueCoverage(venue, live=not down_ms, complete=complete, gaps=gaps, down_ms=down_ms)


def market_hour() -> Totals:
    """$343.2M in 1h: longs $290.1M over three venues and six coins."""
    return totals(
        "1h",
        {
            "binance": ExchangeTotals(150 * M, 30 * M, 100, 20),
            "bybit": ExchangeTotals(100 * M, 13.1 * M, 80, 10),
            "okx": ExchangeTotals(40.1 * M, 10 * M, 30, 5),
        },
        {
            "BTC": CoinTotals(200 * M, 20 * M, 90, 12),
            "ETH": CoinTotals(60 * M, 20 * M, 60, 10),
            "SOL": CoinTotals(20.1 * M, 10 * M, 30, 8),
            "DOGE": CoinTotals(5 * M, 2 * M, 15, 3),
            "XRP": CoinTotals(3 * M, 1 * M, 10, 1),
            "PEPE": CoinTotals(2 * M, 0.1 * M, 5, 1),
        },
        Largest("binance", "BTC", "long", 12.3 * M, BIG_TS, "BTCUSDT"),
        {
            "binance": cov("binance", complete=False),
            "bybit": cov("bybit", complete=True),
            "okx": cov("okx", complete=False, down_ms=3 * MINUTE_MS),
        },
    )


def market_day() -> Totals:
    return totals(
        "24h",
        {"binance": ExchangeTotals(840 * M, 360 * M, 900, 400)},
        {"BTC": CoinTotals(840 * M, 360 * M, 900, 400)},
    )


def test_market_alert_exact_text() -> None:
    hour = market_hour()
    # The inputs add up to the headline figures the test states.
    assert hour.total_usd == pytest.approx(343.2 * M) and hour.count == 245
    fire = Fire(FIRST, 2, hour.total_usd, 100 * M)
    text = format_alert(RuleSpec("1h", 100 * M), fire, hour, market_day())
    assert text.split("\n") == [
        "🚨 $343.2M liquidated in 1h",
        "Crossed your $100M threshold, already 2× over.",
        "",
        "Longs $290.1M (85%) · Shorts $53.1M (15%) · 245 liquidations",
        "Venues: Binance $180M · Bybit $113.1M · OKX $50.1M",
        "Top coins: BTC $220M · ETH $80M · SOL $30.1M · DOGE $7M · XRP $4M",
        "Largest: $12.3M BTCUSDT long on Binance at 14:05 UTC",
        "24h: $1.2B, longs 70%",
        "📉 Long squeeze: longs were 85% of it.",  # prices unknown: no claim about them
        "",
        "<i>Binance and OKX publish samples; Bybit all. OKX was down 3m of this window.</i>",
    ]
    check_telegram_html(text)


def test_coin_escalation_short_squeeze() -> None:
    btc = totals(
        "1h",
        {
            "binance": ExchangeTotals(2 * M, 30 * M, 3, 40),
            "bybit": ExchangeTotals(1.1 * M, 19 * M, 2, 25),
        },
        {"BTC": CoinTotals(3.1 * M, 49 * M, 5, 65)},
        Largest("bybit", "BTC", "short", 4.25 * M, BIG_TS, "BTCUSDT"),
    )
    day = totals("24h", {"bybit": ExchangeTotals(60 * M, 90 * M, 50, 70)}, {})
    fire = Fire(ESCALATION, 2, btc.total_usd, 25 * M)
    text = format_alert(RuleSpec("1h", 25 * M, "BTC"), fire, btc, day)
    lines = text.split("\n")
    assert lines[0] == "🚨 BTC: $52.1M liquidated in 1h"
    assert lines[1] == "⏫ Escalation: now 2× your $25M threshold."
    assert lines[3] == "Longs $3.1M (6%) · Shorts $49M (94%) · 70 liquidations"
    assert lines[4] == "Venues: Binance $32M · Bybit $20.1M"
    assert not any(line.startswith("Top coins") for line in lines)  # one coin: no ranking
    assert lines[5] == "Largest: $4.25M BTCUSDT short on Bybit at 14:05 UTC"
    assert lines[6] == "24h BTC: $150M, longs 40%"
    assert lines[7] == "📈 Short squeeze: shorts were 94% of it."
    # No coverage from uptime: the note still says which venues only sample.
    assert lines[-1] == "<i>Binance publishes samples; Bybit all.</i>"
    check_telegram_html(text)


def test_two_sided_first_fire_and_no_day_line_for_a_24h_rule() -> None:
    day = totals(
        "24h",
        {"okx": ExchangeTotals(600 * M, 450 * M, 10, 9)},
        {"ETH": CoinTotals(600 * M, 450 * M, 10, 9)},
    )
    fire = Fire(FIRST, 1, day.total_usd, 1000 * M)
    text = format_alert(RuleSpec("24h", 1000 * M), fire, day, day)
    lines = text.split("\n")
    assert lines[:2] == ["🚨 $1.05B liquidated in 24h", "Crossed your $1B threshold."]
    assert not any(line.startswith("24h") for line in lines)
    assert "↔️ Two-sided: longs 57%, shorts 43%; both sides were flushed." in lines
    assert "Largest" not in text  # none known: no line rather than a made-up one
    assert lines[-1] == "<i>OKX publishes samples only.</i>"


def test_dynamic_values_are_escaped() -> None:
    odd = totals(
        "1h",
        {"binance": ExchangeTotals(9 * M, 1 * M, 1, 1)},
        {"A<B>&C": CoinTotals(9 * M, 1 * M, 1, 1)},
        Largest("binance", "A<B>&C", "long", 9 * M, BIG_TS, "A<B>&CUSDT"),
    )
    fire = Fire(FIRST, 1, odd.total_usd, 5 * M)
    market = format_alert(RuleSpec("1h", 5 * M), fire, odd)
    coin = format_alert(RuleSpec("1h", 5 * M, "A<B>&C"), fire, odd)
    for text in (market, coin):
        check_telegram_html(text)
        assert "A&lt;B&gt;&amp;C" in text and "A<B" not in text
    assert coin.startswith("🚨 A&lt;B&gt;&amp;C: $10M liquidated in 1h")


def test_coverage_note_lists_every_down_venue() -> None:
    coverage = {
        "okx": cov("okx", complete=False, down_ms=90 * MINUTE_MS),
        "bybit": cov("bybit", complete=True, down_ms=45_000),
        "binance": cov("binance", complete=False),
    }
    assert coverage_note(coverage) == (
        "Binance and OKX publish samples; Bybit all. "
        "Bybit was down 45s and OKX was down 1h 30m of this window."
    )
    assert coverage_note({}, {}) == ""
    assert coverage_note({}, {"bybit": None}) == "Bybit publishes every liquidation."


def test_fit_drops_whole_lines_from_the_end_within_the_limit() -> None:
    lines = ["<b>head</b>", *[f"<i>line {i} {'x' * 200}</i>" for i in range(40)]]
    text = fit(lines)
    assert len(text) <= MAX_TEXT
    assert text.startswith("<b>head</b>\n<i>line 0 ")
    check_telegram_html(text)
    assert fit(["short", "text"]) == "short\ntext"

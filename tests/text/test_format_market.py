"""Funding / open-interest texts (bot/text/market.py): signs, intervals, times, escaping,
staleness and Telegram's limits."""

from __future__ import annotations

import datetime as dtm

from bench.fakes.bot_api import check_telegram_html
from bot.alerts.rules import Fire
from bot.domain import MINUTE_MS, coin_market
from bot.text.market import (
    format_change,
    format_funding_alert,
    format_funding_coin,
    format_funding_market,
    format_interval,
    format_oi_market,
    format_rate,
    freshness,
    next_funding,
    rate_per,
)
from tests.fakes.market_figures import snap

NOW = int(dtm.datetime(2026, 11, 22, 13, 47, tzinfo=dtm.UTC).timestamp() * 1000)


def test_numbers() -> None:
    assert format_rate(0.0001) == "+0.0100%"
    assert format_rate(-0.000375) == "−0.0375%"
    assert format_rate(0.0) == format_rate(-0.000000001) == "0.0000%"
    assert rate_per(0.00015, 4.0) == "+0.0150%/4h"
    assert format_interval(8.0) == "8h" and format_interval(0.5) == "30m"
    assert format_change(-0.0421) == "−4.2%" and format_change(0.00004) == "0.0%"


def test_times_and_staleness() -> None:
    at_16 = int(dtm.datetime(2026, 11, 22, 16, 0, tzinfo=dtm.UTC).timestamp() * 1000)
    assert next_funding(at_16, NOW) == "in 2h 13m (16:00 UTC)"
    assert next_funding(NOW + 20_000, NOW) == "in 1m (13:47 UTC)"  # never "in 0s"
    assert next_funding(NOW - 5_000, NOW) == "due now (13:46 UTC)"
    assert freshness(NOW - 45_000, NOW) == "<i>Polled 45s ago.</i>"
    assert freshness(NOW - 12 * MINUTE_MS, NOW, 3 * MINUTE_MS) == (
        "<i>⚠️ Stale: last polled 12m ago; polling may be failing.</i>"
    )


def test_missing_figures_and_escaping() -> None:
    odd = coin_market(
        "A<B",
        NOW,
        [
            snap("bybit", "A<B", NOW, rate=None, oi_usd=None, symbol="A<B&USDT"),
            snap("okx", "A<B", NOW, rate=0.0001, interval_h=None, oi_usd=None),
        ],
    )
    text = format_funding_coin(odd, NOW)
    check_telegram_html(text)
    assert "<b>💸 A&lt;B funding</b>" in text
    assert "No OI-weighted figure: no venue gives both funding and open interest." in text
    assert "<b>Bybit</b> A&lt;B&amp;USDT\nno funding rate" in text
    assert "+0.0100% per interval (interval unknown)" in text
    alert = format_funding_alert(
        coin_market("X&Y", NOW, [snap("bybit", "X&Y", NOW, rate=-0.003, oi_usd=9e6)]),
        Fire("first", 2, 0.003, 0.0015),
    )
    check_telegram_html(alert)
    assert alert.startswith("💸 X&amp;Y funding −0.3000%/8h (APR −328.50%)\n")


def test_long_lists_stay_within_telegram_limits() -> None:
    coins = [
        coin_market(
            f"C{i:03d}",
            NOW,
            [snap("bybit", f"C{i:03d}", NOW, rate=(i - 250) / 1e5, oi_usd=6e6 + i)],
        )
        for i in range(500)
    ]
    text = format_funding_market(coins, NOW, 5e6)
    check_telegram_html(text)
    assert text.count("\n") < 30 and "500 coins with at least $5M open interest" in text
    moves = [(f"C{i:03d}", 1e7, (i - 250) / 1000) for i in range(500)]
    text = format_oi_market(moves, "1h", 5e6)
    check_telegram_html(text)
    assert "1. <b>C000</b> −25.0% · $10M now" in text
    assert "1. <b>C499</b> +24.9% · $10M now" in text

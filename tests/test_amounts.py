"""Argument parsing and compact formatting (bot/units.py)."""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain import HOUR_MS, MINUTE_MS, WINDOWS
from bot.units import (
    MAX_AMOUNT,
    MAX_MUTE_MS,
    RULE_WINDOWS,
    ArgError,
    format_duration,
    format_pct,
    format_usd,
    normalize_coin,
    parse_amount,
    parse_duration,
    parse_rules_spec,
    parse_window,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("250M", 250_000_000),
        ("250m", 250_000_000),
        ("1.5B", 1_500_000_000),
        ("750K", 750_000),
        ("750k", 750_000),
        ("$250M", 250_000_000),
        ("250000000", 250_000_000),
        ("250,000,000", 250_000_000),
        ("250_000_000", 250_000_000),
        ("1,234.5", 1234.5),
        ("0.5M", 500_000),
        (".5m", 500_000),
        ("  2b ", 2_000_000_000),
        ("1T", 1e12),
        ("1", 1),
        ("0.1M", 100_000),  # exact: decimal arithmetic, not 0.1 * 1e6 in binary
    ],
)
def test_parse_amount_accepts(text: str, expected: float) -> None:
    assert parse_amount(text) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("abc", "is not an amount"),
        ("", "is not an amount"),
        ("M", "is not an amount"),
        ("1.5.5M", "is not an amount"),
        ("1,5M", "is not an amount"),  # decimal comma is ambiguous, refuse it
        ("12,34", "is not an amount"),
        ("1e9", "is not an amount"),
        ("nan", "is not an amount"),
        ("inf", "is not an amount"),
        ("250MM", "is not an amount"),
        ("٢٥٠M", "is not an amount"),  # Arabic-Indic digits: float() would take them
        ("0", "more than zero"),
        ("$0M", "more than zero"),
        ("-5M", "must be positive"),
        ("$-5M", "must be positive"),
        ("0.5", "too small"),
        ("2T", "too large"),
        ("9" * 40, "too large"),
    ],
)
def test_parse_amount_rejects_with_a_reason(text: str, fragment: str) -> None:
    with pytest.raises(ArgError, match=fragment) as info:
        parse_amount(text)
    assert "\n" not in str(info.value)


def test_error_message_quotes_long_input_shortened_on_one_line() -> None:
    with pytest.raises(ArgError) as info:
        parse_amount("x" * 500 + "\nsecond line")
    message = str(info.value)
    assert "\n" not in message and len(message) < 120
    assert '"xxxxxxxxxxxxxxxxxxxxxxxx…"' in message


@pytest.mark.parametrize(
    ("text", "name"),
    [("5m", "5m"), ("15M", "15m"), ("1h", "1h"), ("60m", "1h"), ("4h", "4h"), ("24h", "24h")],
)
def test_parse_window_by_length(text: str, name: str) -> None:
    assert parse_window(text) == (name, WINDOWS[name])


def test_parse_window_day_alias_and_allowed_set() -> None:
    assert parse_window("1d") == ("24h", 24 * HOUR_MS)
    with pytest.raises(ArgError, match=r'unknown window "7d"; use 5m, 15m, 1h, 4h, 12h or 24h'):
        parse_window("7d")
    assert parse_window("7d", WINDOWS) == ("7d", WINDOWS["7d"])
    with pytest.raises(ArgError, match="use 1h or 24h"):
        parse_window("4h", ("1h", "24h"))


@pytest.mark.parametrize("text", ["2h", "0m", "h", "1x", "", "1h 30m", "-1h"])
def test_parse_window_rejects(text: str) -> None:
    with pytest.raises(ArgError, match="unknown window"):
        parse_window(text)


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("30m", 30 * MINUTE_MS),
        ("2h", 2 * HOUR_MS),
        ("1d", 24 * HOUR_MS),
        ("1h30m", 90 * MINUTE_MS),
        ("1M", MINUTE_MS),
        ("30d", MAX_MUTE_MS),
    ],
)
def test_parse_duration(text: str, ms: int) -> None:
    assert parse_duration(text) == ms


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("0m", "too short"),
        ("31d", "too long"),
        ("720h1m", "too long"),
        ("2 hours", "not a duration"),
        ("1.5h", "not a duration"),
        ("forever", "not a duration"),
        ("-1h", "not a duration"),
    ],
)
def test_parse_duration_rejects(text: str, fragment: str) -> None:
    with pytest.raises(ArgError, match=fragment):
        parse_duration(text)


@pytest.mark.parametrize(
    ("text", "coin"),
    [
        ("BTC", "BTC"),
        ("btc", "BTC"),
        ("BTCUSDT", "BTC"),
        ("btcusdt", "BTC"),
        ("$btc", "BTC"),
        ("BTC-USDT-SWAP", "BTC"),
        ("ETH-USD-SWAP", "ETH"),
        ("BTC/USDT:USDT", "BTC"),
        ("BTCUSD_PERP", "BTC"),
        ("ETHPERP", "ETH"),
        ("SOLUSDC", "SOL"),
        ("1000PEPEUSDT", "1000PEPE"),
        ("TUSDT", "T"),  # one-letter base (Threshold) survives suffix stripping
        ("USDT", "USDT"),
        ("TUSD", "TUSD"),  # a glued USD is part of the name unless the symbol is separated
    ],
)
def test_normalize_coin(text: str, coin: str) -> None:
    assert normalize_coin(text) == coin


@pytest.mark.parametrize("text", ["", "$", "B T C", "1000", "BTC!", "ΒΤC", "A" * 21, "-USDT"])
def test_normalize_coin_rejects(text: str) -> None:
    with pytest.raises(ArgError, match="is not a coin"):
        normalize_coin(text)


def test_parse_rules_spec_default_and_empty() -> None:
    assert parse_rules_spec("1h=100M,24h=1B") == {"1h": 100e6, "24h": 1e9}
    assert parse_rules_spec(" 5m = $2.5M , 4h=750K ") == {"5m": 2.5e6, "4h": 750e3}
    assert parse_rules_spec("") == {}
    assert parse_rules_spec("off") == {}


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("1h100M", r'bad rule "1h100M": expected WINDOW=AMOUNT'),
        ("1h=100M,2h=1B", r'bad rule "2h=1B": unknown window "2h"'),
        ("1h=100M,,24h=1B", r'bad rule "": expected WINDOW=AMOUNT'),
        ("1h=zero", r'bad rule "1h=zero": "zero" is not an amount'),
        ("1h=1M,60m=2M", r'bad rule "60m=2M": window 1h given twice'),
    ],
)
def test_parse_rules_spec_names_the_bad_part(text: str, fragment: str) -> None:
    with pytest.raises(ArgError, match=fragment):
        parse_rules_spec(text)


@pytest.mark.parametrize(
    ("x", "text"),
    [
        (0, "$0"),
        (0.4, "$0"),
        (5, "$5"),
        (950, "$950"),
        (999.4, "$999"),
        (1_000, "$1K"),
        (1_234, "$1.23K"),
        (12_345, "$12.3K"),
        (850_000, "$850K"),
        (999_499, "$999K"),
        (999_500, "$1M"),  # rounds up across the unit boundary: never "$1000K"
        (999_950, "$1M"),
        (1_049_999, "$1.05M"),
        (1_500_000, "$1.5M"),
        (99_950_000, "$100M"),
        (343_200_000, "$343.2M"),
        (343_249_000, "$343.2M"),
        (999_940_000, "$999.9M"),
        (999_960_000, "$1B"),
        (1_050_000_000, "$1.05B"),
        (1_054_000_000, "$1.05B"),
        (12_300_000_000, "$12.3B"),
        (2e12, "$2T"),
        (-1_234, "-$1.23K"),
    ],
)
def test_format_usd(x: float, text: str) -> None:
    assert format_usd(x) == text


def test_format_usd_refuses_nan() -> None:
    with pytest.raises(ValueError):
        format_usd(math.nan)


@pytest.mark.parametrize(
    ("share", "text"),
    [
        (0.84, "84%"),
        (0.0, "0%"),
        (1.0, "100%"),
        (0.004, "<1%"),
        (0.996, ">99%"),
        (0.005, "<1%"),
        (0.025, "3%"),
    ],
)
def test_format_pct(share: float, text: str) -> None:
    assert format_pct(share) == text


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        (2 * HOUR_MS + 30 * MINUTE_MS, "2h 30m"),
        (2 * HOUR_MS + 5_000, "2h"),
        (26 * HOUR_MS + 59 * MINUTE_MS, "1d 2h"),
        (45 * MINUTE_MS + 999, "45m"),
        (12_345, "12s"),
        (0, "0s"),
        (-5, "0s"),
    ],
)
def test_format_duration(ms: int, text: str) -> None:
    assert format_duration(ms) == text


@given(st.text())
def test_parsers_raise_only_arg_error(text: str) -> None:
    for parse in (parse_amount, parse_window, parse_duration, normalize_coin, parse_rules_spec):
        try:
            parse(text)
        except ArgError as exc:
            assert "\n" not in str(exc)


@given(st.from_regex(r"\$?[0-9,._]{0,12}[kmbtKMBT]?", fullmatch=True))
def test_amount_like_text_raises_only_arg_error(text: str) -> None:
    try:
        value = parse_amount(text)
    except ArgError:
        return
    assert 1 <= value <= MAX_AMOUNT


@given(st.floats(min_value=1, max_value=MAX_AMOUNT))
def test_format_usd_round_trips_within_rounding(x: float) -> None:
    text = format_usd(x)
    # Never more than three integer digits before the unit ("$1000K" must be "$1M").
    assert re.fullmatch(r"\$[0-9]{1,3}(\.[0-9]{1,2})?[KMBT]?", text), text
    back = parse_amount(text)
    # Three significant figures: at most half a unit of the third digit, i.e. 0.5 %.
    # Whole dollars below $1,000 add at most $0.50 on small amounts.
    assert abs(back - x) <= max(x * 0.005, 0.5) + 1e-9 * x


@given(st.sampled_from(RULE_WINDOWS))
def test_window_names_parse_to_themselves(name: str) -> None:
    assert parse_window(name.upper()) == (name, WINDOWS[name])

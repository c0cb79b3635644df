"""Property tests: no market parser raises on any text, and valid rows come out exact."""

import json
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.venues.binance import market as binance
from bot.venues.bybit import market as bybit
from bot.venues.okx import market as okx
from tests.fakes.market import bybit_body, bybit_ticker, okx_body, okx_funding

T = 1_760_000_000_000

SCALAR = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(10**400), max_value=10**400)
    | st.floats()
    | st.text(max_size=12)
    | st.sampled_from(["nan", "inf", "-1", "0", "", "0.0001", "1e308", "1e999", "480", "BTCUSDT"])
)
JSON = st.recursive(
    SCALAR,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=30,
)
FIELDS = [
    "symbol", "markPrice", "lastFundingRate", "nextFundingTime", "fundingIntervalHours",
    "openInterest", "openInterestValue", "fundingRate", "fundingIntervalHour",
    "fundingInterval", "instId", "fundingTime", "settFundingRate", "oiCcy", "oiUsd", "oi",
    "markPx", "adjustedFundingRateCap", "adjustedFundingRateFloor",
]  # fmt: skip
ITEM = st.dictionaries(st.sampled_from(FIELDS), SCALAR, max_size=len(FIELDS))


def every_parser(text: str) -> None:
    binance.parse_premium_index(text, T, {})
    binance.parse_premium_index(text, T, None)
    binance.parse_funding_info(text)
    binance.parse_funding_caps(text)
    binance.parse_open_interest(text)
    bybit.parse_tickers(text, T, {"BTCUSDT": 8.0})
    bybit.parse_instruments(text)
    funding = okx.parse_funding_rates(text)
    oi = okx.parse_open_interest(text)
    marks = okx.parse_mark_prices(text)
    okx.okx_snapshots(T, funding.items, oi.items, marks.items)


@given(st.text(max_size=200))
def test_no_parser_raises_on_any_text(text: str) -> None:
    every_parser(text)


@given(JSON)
def test_no_parser_raises_on_any_json(value: Any) -> None:
    every_parser(json.dumps(value))


@given(st.lists(ITEM | JSON, max_size=6))
def test_no_parser_raises_on_near_valid_items(items: list[Any]) -> None:
    every_parser(json.dumps(items))
    every_parser(json.dumps(bybit_body(items)))
    every_parser(json.dumps(okx_body(items)))
    for item in items:
        every_parser(json.dumps(item))


def test_deep_nesting_does_not_raise() -> None:
    every_parser("[" * 5000 + "]" * 5000)
    every_parser('{"retCode":0,"result":{"list":' + "[" * 3000 + "]" * 3000 + "}}")


RATE = st.decimals(min_value=Decimal("-0.03"), max_value=Decimal("0.03"), places=8)
HOURS = st.sampled_from([1, 2, 4, 6, 8])


@settings(max_examples=60)
@given(st.lists(st.tuples(RATE, HOURS), min_size=1, max_size=20))
def test_bybit_rates_normalise_exactly(rows: list[tuple[Decimal, int]]) -> None:
    items = [
        bybit_ticker(f"C{i}USDT", "1.5", str(r), T, "10", "15", interval_hour=str(h))
        for i, (r, h) in enumerate(rows)
    ]
    parsed = bybit.parse_tickers(json.dumps(bybit_body(items)), T)
    assert parsed.rejects == 0
    for i, (r, h) in enumerate(rows):
        s = parsed.items[f"C{i}USDT"]
        assert s.funding_rate == float(r)
        assert s.funding_interval_h == h
        assert s.rate_8h is not None and s.apr is not None
        exact_8h, exact_apr = r * 8 / h, r * 24 / h * 365
        assert abs(Decimal(s.rate_8h) - exact_8h) <= abs(exact_8h) * Decimal("1e-15")
        assert abs(Decimal(s.apr) - exact_apr) <= abs(exact_apr) * Decimal("1e-15")


@settings(max_examples=60)
@given(st.lists(st.tuples(RATE, HOURS), min_size=1, max_size=20))
def test_okx_interval_from_settlement_times(rows: list[tuple[Decimal, int]]) -> None:
    items = [
        okx_funding(f"C{i}-USDT-SWAP", str(r), T + 60_000, T + 60_000 + h * 3_600_000)
        for i, (r, h) in enumerate(rows)
    ]
    parsed = okx.parse_funding_rates(json.dumps(okx_body(items)))
    assert parsed.rejects == 0
    for i, (r, h) in enumerate(rows):
        f = parsed.items[f"C{i}-USDT-SWAP"]
        assert (f.rate, f.interval_h, f.funding_ms) == (float(r), h, T + 60_000)

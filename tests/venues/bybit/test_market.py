"""Bybit tickers / instruments-info parsers on documented bodies."""

import json

import pytest

from bot.venues.bybit.market import parse_instruments, parse_tickers
from tests.fakes.market import bybit_body, bybit_instrument, bybit_ticker

T = 1_672_376_496_682


def test_ticker_units_and_interval_from_ticker() -> None:
    body = json.dumps(
        bybit_body(
            [
                bybit_ticker(
                    "BTCUSDT", "16596.00", "-0.001034", 1672387200000, "37350.41",
                    "619885855.8", interval_hour="8",
                ),
                bybit_ticker(
                    "1000PEPEUSDT", "0.01234", "0.00025", 1672380000000, "9000000000",
                    "111060000", interval_hour="4",
                ),
            ]
        )
    )  # fmt: skip
    parsed = parse_tickers(body, T)
    assert parsed.error is None and parsed.rejects == 0
    btc = parsed.items["BTCUSDT"]
    assert (btc.venue, btc.coin, btc.ts_ms) == ("bybit", "BTC", T)
    assert btc.funding_rate == -0.001034
    assert btc.funding_interval_h == 8.0
    assert btc.next_funding_ms == 1672387200000
    assert btc.mark_price == 16596.0
    assert btc.oi_base == 37350.41  # base coin
    assert btc.oi_usd == 619885855.8  # openInterestValue, USD as published
    pepe = parsed.items["1000PEPEUSDT"]
    assert pepe.coin == "PEPE"
    assert pepe.funding_interval_h == 4.0
    assert pepe.rate_8h == pytest.approx(0.0005)
    assert pepe.apr == pytest.approx(0.00025 * 6 * 365)


def test_interval_from_instruments_when_ticker_lacks_it() -> None:
    page = parse_instruments(
        json.dumps(
            bybit_body(
                [
                    bybit_instrument("BTCUSDT", 480),
                    bybit_instrument("MYXUSDT", 60),
                    bybit_instrument("AEROUSDT", 120),
                    {**bybit_instrument("BTC-26DEC25", 0), "contractType": "LinearFutures"},
                    {"symbol": "BADUSDT", "fundingInterval": "abc"},
                    {"symbol": "LONGUSDT", "fundingInterval": 2880},  # 48 h: not a real interval
                    17,
                ],
                cursor="next%3D1",
            )
        )
    )
    assert page.items == {"BTCUSDT": 8.0, "MYXUSDT": 1.0, "AEROUSDT": 2.0}
    assert page.skipped == 1 and page.rejects == 3
    assert page.cursor == "next%3D1"
    body = json.dumps(
        bybit_body(
            [
                bybit_ticker("MYXUSDT", "1.5", "-0.005", T + 1000, "100", "150"),
                bybit_ticker("NEWUSDT", "2", "0.0001", T + 1000, "100", "200"),
                bybit_ticker("AEROUSDT", "1.1", "0.001", T, "10", "11", interval_hour="4"),
            ]
        )
    )
    parsed = parse_tickers(body, T, page.items)
    assert parsed.items["MYXUSDT"].funding_interval_h == 1.0
    assert parsed.items["MYXUSDT"].rate_8h == pytest.approx(-0.04)
    assert parsed.items["NEWUSDT"].funding_interval_h is None  # unknown, not guessed
    assert parsed.items["AEROUSDT"].funding_interval_h == 4.0  # the ticker's own field wins


def test_futures_skipped_bad_items_counted_missing_fields_none() -> None:
    future = bybit_ticker("BTC-26DEC25", "16700", "", 0, "10", "167000")
    body = json.dumps(
        bybit_body(
            [
                future,
                bybit_ticker("ETHUSDT", "1200", "0.0001", T, "0", "", interval_hour="8"),
                {**bybit_ticker("XUSDT", "1", "0.0001", T, "1", "1"), "fundingRate": "1.5"},
                {**bybit_ticker("YUSDT", "1", "0.0001", T, "1", "1"), "symbol": ""},
                None,
            ]
        )
    )
    parsed = parse_tickers(body, T, {})
    assert list(parsed.items) == ["ETHUSDT"]
    eth = parsed.items["ETHUSDT"]
    assert eth.oi_base is None and eth.oi_usd is None  # zero / empty: no open interest
    assert parsed.skipped == 1
    assert parsed.rejects == 3


@pytest.mark.parametrize(
    "body",
    [
        "",
        "not json",
        '{"retCode":10006,"retMsg":"Too many visits!","result":{},"time":1}',
        '{"retCode":0,"retMsg":"OK","result":{"list":{}}}',
        '{"retCode":0,"retMsg":"OK","result":null}',
        "[]",
    ],
)
def test_unusable_bodies(body: str) -> None:
    assert parse_tickers(body, T).error is not None
    assert parse_instruments(body).error is not None

"""Binance premiumIndex / fundingInfo / openInterest parsers on documented bodies."""

import json

import pytest

from bot.venues.binance.market import (
    parse_funding_caps,
    parse_funding_info,
    parse_open_interest,
    parse_premium_index,
    with_open_interest,
)
from tests.fakes.market import binance_funding_info, binance_premium

T = 1_597_370_495_002

# The documented premiumIndex item (Binance "Mark Price" page), verbatim.
DOC_ITEM = {
    "symbol": "BTCUSDT",
    "markPrice": "11793.63104562",
    "indexPrice": "11781.80495970",
    "estimatedSettlePrice": "11781.16138815",
    "lastFundingRate": "0.00038246",
    "nextFundingTime": 1597392000000,
    "interestRate": "0.00010000",
    "time": 1597370495002,
}


def test_premium_index_documented_item_defaults_to_8h() -> None:
    parsed = parse_premium_index(json.dumps([DOC_ITEM]), T, intervals={})
    assert parsed.error is None and parsed.rejects == 0
    s = parsed.items["BTCUSDT"]
    assert (s.venue, s.symbol, s.coin, s.ts_ms) == ("binance", "BTCUSDT", "BTC", T)
    assert s.funding_rate == 0.00038246
    assert s.funding_interval_h == 8.0
    assert s.next_funding_ms == 1597392000000
    assert s.mark_price == 11793.63104562
    assert s.oi_base is None and s.oi_usd is None
    assert s.predicted is False
    assert s.rate_8h == pytest.approx(0.00038246)
    assert s.apr == pytest.approx(0.00038246 * 3 * 365)


def test_adjusted_intervals_from_funding_info() -> None:
    info = parse_funding_info(
        json.dumps([binance_funding_info("LPTUSDT", 4), binance_funding_info("BLZUSDT", 1)])
    )
    assert info.items == {"LPTUSDT": 4.0, "BLZUSDT": 1.0}
    body = json.dumps(
        [
            binance_premium("LPTUSDT", "6.25", "-0.00250000", 1597392000000),
            binance_premium("BLZUSDT", "0.05", "0.00300000", 1597374000000),
            binance_premium("ETHUSDT", "390.1", "0.00010000", 1597392000000),
        ]
    )
    parsed = parse_premium_index(body, T, info.items)
    lpt, blz, eth = (parsed.items[s] for s in ("LPTUSDT", "BLZUSDT", "ETHUSDT"))
    assert (lpt.funding_interval_h, blz.funding_interval_h, eth.funding_interval_h) == (4, 1, 8)
    assert lpt.rate_8h == pytest.approx(-0.0025 * 8 / 4)
    assert blz.rate_8h == pytest.approx(0.003 * 8)
    assert blz.apr == pytest.approx(0.003 * 24 * 365)


def test_interval_unknown_before_any_funding_info() -> None:
    parsed = parse_premium_index(json.dumps([DOC_ITEM]), T, intervals=None)
    assert parsed.items["BTCUSDT"].funding_interval_h is None
    assert parsed.items["BTCUSDT"].rate_8h is None


def test_delivery_contracts_skipped_and_bad_rows_counted() -> None:
    body = json.dumps(
        [
            DOC_ITEM,
            binance_premium("BTCUSDT_250926", "11800.1", "", 0),
            {**DOC_ITEM, "symbol": "ETHUSDT", "lastFundingRate": "nan"},
            {**DOC_ITEM, "symbol": "XRPUSDT", "markPrice": "0"},
            {**DOC_ITEM, "symbol": 5},
            "junk",
            {**DOC_ITEM, "symbol": "1000PEPEUSDT", "markPrice": "0.0123", "lastFundingRate": 0},
        ]
    )
    parsed = parse_premium_index(body, T, {})
    assert sorted(parsed.items) == ["1000PEPEUSDT", "BTCUSDT"]
    assert parsed.items["1000PEPEUSDT"].coin == "PEPE"
    assert parsed.items["1000PEPEUSDT"].funding_rate == 0.0
    assert parsed.skipped == 1
    assert parsed.rejects == 4
    assert "premiumIndex" in parsed.sample


@pytest.mark.parametrize("body", ["", "{", '{"code": -1003, "msg": "Too many requests"}', "7"])
def test_unusable_bodies(body: str) -> None:
    assert parse_premium_index(body, T, {}).error is not None
    assert parse_funding_info(body).error is not None


def test_funding_info_bad_rows() -> None:
    body = json.dumps(
        [
            binance_funding_info("AUSDT", 4),
            {"symbol": "BUSDT", "fundingIntervalHours": 0},
            {"symbol": "CUSDT", "fundingIntervalHours": "x"},
            {"symbol": "DUSDT", "fundingIntervalHours": True},
            {"fundingIntervalHours": 4},
            [],
        ]
    )
    parsed = parse_funding_info(body)
    assert parsed.items == {"AUSDT": 4.0}
    assert parsed.rejects == 5


def test_funding_caps_from_funding_info() -> None:
    body = json.dumps(
        [
            binance_funding_info("AUSDT", 4),  # caps +-2 %
            {**binance_funding_info("BUSDT", 1), "adjustedFundingRateCap": "0.03000000",
             "adjustedFundingRateFloor": "-0.03000000"},
            {**binance_funding_info("CUSDT", 4), "adjustedFundingRateCap": ""},
            {**binance_funding_info("DUSDT", 4), "adjustedFundingRateFloor": "0.01"},
            [],
        ]
    )  # fmt: skip
    parsed = parse_funding_caps(body)
    assert parsed.items == {"AUSDT": (0.02, -0.02), "BUSDT": (0.03, -0.03)}
    assert parsed.rejects == 2
    assert parse_funding_caps("{").error is not None


def test_open_interest_documented_body_and_usd() -> None:
    parsed = parse_open_interest(
        '{"openInterest":"10659.509","symbol":"BTCUSDT","time":1589437530011}'
    )
    assert parsed.items == {"BTCUSDT": 10659.509}
    snap = parse_premium_index(json.dumps([DOC_ITEM]), T, {}).items["BTCUSDT"]
    with_open_interest(snap, parsed.items["BTCUSDT"])
    assert snap.oi_base == 10659.509
    assert snap.oi_usd == pytest.approx(10659.509 * 11793.63104562, rel=1e-15)


def test_open_interest_zero_and_errors() -> None:
    zero = parse_open_interest('{"openInterest":"0","symbol":"NEWUSDT","time":1}')
    assert zero.items == {} and zero.rejects == 0 and zero.error is None
    bad = parse_open_interest('{"openInterest":"-3","symbol":"BTCUSDT","time":1}')
    assert bad.items == {} and bad.rejects == 1
    assert parse_open_interest('{"code":-1121,"msg":"Invalid symbol."}').rejects == 1
    assert parse_open_interest("[1]").error is not None
    assert parse_open_interest("<html>").error is not None

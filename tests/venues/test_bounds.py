"""Plausibility bounds on one liquidation, applied by every venue parser alike: an absurd
size, price or USD value is a reject (counted, like invalid JSON), never an event."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from bot.domain import ParseResult
from bot.venues.binance.feed import BinanceSource
from bot.venues.bybit.feed import BybitSource
from bot.venues.okx.feed import INSTRUMENTS_PATH as OKX_PATH
from bot.venues.okx.feed import OkxSource
from bot.venues.symbols import MAX_PRICE, MAX_USD

T = 1_760_130_000_000


def binance(qty: Any, price: Any, symbol: Any = "BTCUSDT") -> ParseResult:
    order = {"s": symbol, "S": "SELL", "z": qty, "ap": price, "T": T}
    msg = {"stream": "!forceOrder@arr", "data": {"e": "forceOrder", "o": order}}
    return BinanceSource("ws://x/market").parse(json.dumps(msg))


def bybit(qty: Any, price: Any, symbol: Any = "BTCUSDT") -> ParseResult:
    item = {"T": T, "s": symbol, "S": "Buy", "v": qty, "p": price}
    msg = {"topic": f"allLiquidation.{symbol}", "data": [item]}
    return BybitSource("ws://x").parse(json.dumps(msg))


def okx_source() -> OkxSource:
    src = OkxSource("ws://x")
    items = [
        {"instId": "BTC-USDT-SWAP", "ctType": "linear", "ctVal": "0.01", "ctMult": "1"},
        {"instId": "BTC-USD-SWAP", "ctType": "inverse", "ctVal": "100", "ctMult": "1"},
    ]
    src.on_rest(OKX_PATH, json.dumps({"code": "0", "data": items}))
    return src


def okx(qty: Any, price: Any, inst: str = "BTC-USDT-SWAP") -> ParseResult:
    detail = {"posSide": "long", "side": "sell", "sz": qty, "bkPx": price, "ts": str(T)}
    msg = {
        "arg": {"channel": "liquidation-orders"},
        "data": [{"instId": inst, "details": [detail]}],
    }
    return okx_source().parse(json.dumps(msg))


def okx_linear(qty: Any, price: Any) -> ParseResult:
    # ctVal 0.01: scale the size so that qty x price means the same USD as elsewhere.
    return okx(str(float(qty) * 100) if isinstance(qty, str) else qty, price)


PARSERS: list[Callable[[Any, Any], ParseResult]] = [binance, bybit, okx_linear]


@pytest.mark.parametrize("parse", PARSERS)
@pytest.mark.parametrize(
    ("qty", "price"),
    [
        ("1500000000000", "60000"),  # $9e16: the print that once stopped all alerting
        ("1", "1000000001"),  # a price above 1e9
        ("1", "0"),
        ("1", "-5"),
        ("0", "60000"),
        ("-1", "60000"),
        ("nan", "60000"),
        ("1", "NaN"),
        ("Infinity", "1"),
        ("1", "-inf"),
        ("1e400", "1"),
        ("200000", "60000"),  # $1.2e10: just over $10B
    ],
)
def test_absurd_figures_are_rejects(
    parse: Callable[[Any, Any], ParseResult], qty: str, price: str
) -> None:
    r = parse(qty, price)
    assert r.events == [] and r.rejects == 1 and not r.control


@pytest.mark.parametrize("parse", PARSERS)
def test_the_largest_plausible_print_is_accepted(parse: Callable[[Any, Any], ParseResult]) -> None:
    r = parse("100000", "100000")  # exactly $10B
    assert r.rejects == 0 and [e.usd for e in r.events] == [MAX_USD]
    r = parse("0.00001", str(MAX_PRICE))
    assert r.rejects == 0 and len(r.events) == 1


def test_nan_and_infinity_json_tokens_are_rejects() -> None:
    for text in (
        '{"stream":"x","data":{"e":"forceOrder","o":{"s":"BTCUSDT","S":"SELL","z":NaN,'
        '"ap":1,"T":1760130000000}}}',
        '{"topic":"allLiquidation.BTCUSDT","data":[{"T":1760130000000,"s":"BTCUSDT",'
        '"S":"Buy","v":Infinity,"p":1}]}',
        '{"topic":"allLiquidation.BTCUSDT","data":[{"T":1760130000000,"s":"BTCUSDT",'
        '"S":"Buy","v":1,"p":-Infinity}]}',
    ):
        src = BinanceSource("ws://x/market") if "stream" in text else BybitSource("ws://x")
        r = src.parse(text)
        assert r.events == [] and r.rejects == 1


def test_okx_inverse_usd_is_bounded_too() -> None:
    # Inverse USD is sz x ctVal x ctMult (ctVal 100 USD): 2e8 contracts = $2e10.
    r = okx("200000000", "60000", inst="BTC-USD-SWAP")
    assert r.events == [] and r.rejects == 1
    r = okx("100000000", "60000", inst="BTC-USD-SWAP")
    assert [e.usd for e in r.events] == [MAX_USD]


@pytest.mark.parametrize("symbol", ["BTC\ud800USDT", "BTC\u200bUSDT", "BTC\nUSDT", "", "X" * 65])
def test_symbols_that_cannot_be_stored_or_shown_are_rejects(symbol: str) -> None:
    for parse in (binance, bybit):
        r = parse("1", "100", symbol)
        assert r.events == [] and r.rejects == 1


def test_non_ascii_symbols_still_count() -> None:
    r = binance("10", "0.5", "币安人生USDT")
    assert [(e.symbol, e.usd) for e in r.events] == [("币安人生USDT", 5.0)]

"""Property tests: no venue parser raises on any input, every accepted event is within the
plausibility bounds, and valid messages add up exactly (out-of-bound ones are rejects)."""

import json
import math
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from bot.domain import LONG, SHORT
from bot.venues.base import VenueSource
from bot.venues.binance.feed import BinanceSource
from bot.venues.bybit.feed import INSTRUMENTS_PATH as BYBIT_PATH
from bot.venues.bybit.feed import BybitSource
from bot.venues.okx.feed import INSTRUMENTS_PATH as OKX_PATH
from bot.venues.okx.feed import OkxSource
from bot.venues.symbols import MAX_PRICE, MAX_QTY, MAX_TS_MS, MAX_USD

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(10**400), max_value=10**400)
    | st.floats()
    | st.text(max_size=20)
    | st.sampled_from(["nan", "inf", "-1", "0", "Buy", "Sell", "SELL", "BUY", "long", "net"]),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=30,
)

OKX_CONTRACTS = {
    # instId: (ctVal, ctMult, ctType)
    "BTC-USDT-SWAP": ("0.01", "1", "linear"),
    "PEPE-USDT-SWAP": ("10000000", "1", "linear"),
    "XYZ-USDT-SWAP": ("10", "2", "linear"),
    "BTC-USD-SWAP": ("100", "1", "inverse"),
    "ETH-USD-SWAP": ("10", "1", "inverse"),
}


def bybit_loaded() -> BybitSource:
    src = BybitSource("ws://127.0.0.1:1/v5/public/linear")
    items = [{"symbol": s, "status": "Trading"} for s in ("BTCUSDT", "ETHUSDT", "1000PEPEUSDT")]
    body = {"retCode": 0, "retMsg": "OK", "result": {"list": items, "nextPageCursor": ""}}
    src.on_rest(BYBIT_PATH, json.dumps(body))
    assert src.ready()
    return src


def okx_loaded() -> OkxSource:
    src = OkxSource("ws://127.0.0.1:1/ws/v5/public")
    items = [
        {"instId": i, "ctVal": v, "ctMult": m, "ctType": t, "state": "live"}
        for i, (v, m, t) in OKX_CONTRACTS.items()
    ]
    r = src.on_rest(OKX_PATH, json.dumps({"code": "0", "msg": "", "data": items}))
    assert r.accepted == len(OKX_CONTRACTS)
    return src


def all_sources() -> list[VenueSource]:
    return [BinanceSource("ws://127.0.0.1:1/market"), bybit_loaded(), okx_loaded()]


REST_PATHS = [BYBIT_PATH, BYBIT_PATH + "&cursor=abc", OKX_PATH, "/other"]


def check_result_shape(src: VenueSource, text: str) -> None:
    r = src.parse(text)
    assert r.rejects >= 0
    assert not (r.control and r.events)
    for e in r.events:
        assert e.side in (LONG, SHORT)
        assert 0 < e.usd <= MAX_USD and 0 < e.qty <= MAX_QTY and 0 < e.price <= MAX_PRICE
        assert 0 < e.ts_ms < MAX_TS_MS and e.coin and e.symbol.isprintable()


@given(st.text())
def test_no_parser_raises_on_any_text(text: str) -> None:
    for src in all_sources():
        check_result_shape(src, text)
        for path in REST_PATHS:
            src.on_rest(path, text)


@given(JSON)
def test_no_parser_raises_on_any_json(value: Any) -> None:
    text = json.dumps(value)
    for src in all_sources():
        check_result_shape(src, text)
        for path in REST_PATHS:
            src.on_rest(path, text)


# Valid envelopes with one field swapped for an arbitrary JSON value: reaches deep paths.
ENVELOPES: list[tuple[int, dict[str, Any]]] = [
    (
        0,
        {
            "stream": "!forceOrder@arr",
            "data": {
                "e": "forceOrder",
                "o": {"s": "BTCUSDT", "S": "SELL", "z": "1", "ap": "2", "T": 1760130000000},
            },
        },
    ),
    (
        1,
        {
            "topic": "allLiquidation.BTCUSDT",
            "data": [{"T": 1760130000000, "s": "BTCUSDT", "S": "Buy", "v": "1", "p": "2"}],
        },
    ),
    (
        2,
        {
            "arg": {"channel": "liquidation-orders", "instType": "SWAP"},
            "data": [
                {
                    "instId": "BTC-USDT-SWAP",
                    "details": [
                        {"posSide": "net", "side": "buy", "sz": "1", "bkPx": "2", "ts": "1"}
                    ],
                }
            ],
        },
    ),
]


def replace_one(tree: Any, path: list[int], value: Any) -> Any:
    """Replace the node reached by following ``path`` (indices modulo the children)."""
    if not path or not isinstance(tree, dict | list) or not tree:
        return value
    keys = list(tree.keys()) if isinstance(tree, dict) else list(range(len(tree)))
    k = keys[path[0] % len(keys)]
    copy = dict(tree) if isinstance(tree, dict) else list(tree)
    copy[k] = replace_one(tree[k], path[1:], value)  # type: ignore[index]
    return copy


@given(st.sampled_from(ENVELOPES), st.lists(st.integers(0, 9), min_size=1, max_size=6), JSON)
def test_mutated_valid_messages_never_raise(
    envelope: tuple[int, dict[str, Any]], path: list[int], value: Any
) -> None:
    index, msg = envelope
    src = all_sources()[index]
    check_result_shape(src, json.dumps(replace_one(msg, path, value)))


# Quantities and prices from tiny to past the bounds: products past MAX_USD must be rejects.
AMOUNT = st.decimals(
    min_value=Decimal("0.00000001"), max_value=Decimal("100000000"), places=8
).filter(lambda d: d > 0)
TS = st.integers(min_value=1_500_000_000_000, max_value=2_000_000_000_000)
D_USD, D_PRICE, D_QTY = Decimal(MAX_USD), Decimal(MAX_PRICE), Decimal(MAX_QTY)


def exact_sum(products: list[Decimal]) -> float:
    return math.fsum(float(p) for p in products)


def plausible(qty: Decimal, price: Decimal, usd: Decimal) -> bool:
    """The bounds, decided in Decimal (cases within float rounding of a bound are skipped)."""
    for value, bound in ((qty, D_QTY), (price, D_PRICE), (usd, D_USD)):
        assume(abs(value - bound) > bound * Decimal("1e-9"))
    return qty <= D_QTY and price <= D_PRICE and usd <= D_USD


@given(st.lists(st.tuples(AMOUNT, AMOUNT, st.sampled_from(["SELL", "BUY"]), TS), min_size=1))
def test_binance_usd_sum(items: list[tuple[Decimal, Decimal, str, int]]) -> None:
    data = [
        {
            "e": "forceOrder",
            "E": ts + 1000,
            "o": {"s": "ETHUSDT", "S": side, "q": "1", "p": "1", "ap": str(ap), "l": "1",
                  "z": str(z), "X": "FILLED", "T": ts},
        }
        for z, ap, side, ts in items
    ]  # fmt: skip
    r = BinanceSource("ws://x/market").parse(
        json.dumps({"stream": "!forceOrder@arr", "data": data})
    )
    valid = [(z, ap, s) for z, ap, s, _ in items if plausible(z, ap, z * ap)]
    assert r.rejects == len(items) - len(valid) and len(r.events) == len(valid)
    assert math.fsum(e.usd for e in r.events) == pytest.approx(
        exact_sum([z * ap for z, ap, _ in valid]), rel=1e-9
    )
    assert [e.side for e in r.events] == [LONG if s == "SELL" else SHORT for _, _, s in valid]


@given(st.lists(st.tuples(AMOUNT, AMOUNT, st.sampled_from(["Buy", "Sell"]), TS), min_size=1))
def test_bybit_usd_sum(items: list[tuple[Decimal, Decimal, str, int]]) -> None:
    data = [
        {"T": ts, "s": "BTCUSDT", "S": side, "v": str(v), "p": str(p)} for v, p, side, ts in items
    ]
    msg = {"topic": "allLiquidation.BTCUSDT", "type": "snapshot", "ts": 1, "data": data}
    r = BybitSource("ws://x").parse(json.dumps(msg))
    valid = [(v, p, s) for v, p, s, _ in items if plausible(v, p, v * p)]
    assert r.rejects == len(items) - len(valid) and len(r.events) == len(valid)
    assert math.fsum(e.usd for e in r.events) == pytest.approx(
        exact_sum([v * p for v, p, _ in valid]), rel=1e-9
    )
    assert [e.side for e in r.events] == [LONG if s == "Buy" else SHORT for _, _, s in valid]


OKX_DETAIL = st.tuples(
    st.integers(min_value=1, max_value=1_000_000).map(Decimal),
    AMOUNT,
    st.sampled_from([("long", "sell"), ("short", "buy"), ("net", "sell"), ("net", "buy")]),
    TS,
)


@given(
    st.lists(
        st.tuples(st.sampled_from(sorted(OKX_CONTRACTS)), st.lists(OKX_DETAIL, min_size=1)),
        min_size=1,
        max_size=5,
    )
)
def test_okx_usd_sum(
    items: list[tuple[str, list[tuple[Decimal, Decimal, tuple[str, str], int]]]],
) -> None:
    data = [
        {
            "instId": inst,
            "instType": "SWAP",
            "details": [
                {"bkLoss": "0", "bkPx": str(px), "posSide": pos, "side": side, "sz": str(sz),
                 "ts": str(ts)}
                for sz, px, (pos, side), ts in details
            ],
        }
        for inst, details in items
    ]  # fmt: skip
    msg = {"arg": {"channel": "liquidation-orders", "instType": "SWAP"}, "data": data}
    r = okx_loaded().parse(json.dumps(msg))
    expected: list[Decimal] = []
    sides: list[str] = []
    total = 0
    for inst, details in items:
        ct_val, ct_mult, ct_type = OKX_CONTRACTS[inst]
        for sz, px, (pos, side), _ in details:
            total += 1
            size = sz * Decimal(ct_val) * Decimal(ct_mult)
            usd = size * px if ct_type == "linear" else size
            if not plausible(size if ct_type == "linear" else size / px, px, usd):
                continue
            expected.append(usd)
            sides.append(LONG if pos == "long" or (pos == "net" and side == "sell") else SHORT)
    assert r.rejects == total - len(expected) and len(r.events) == len(expected)
    assert math.fsum(e.usd for e in r.events) == pytest.approx(exact_sum(expected), rel=1e-9)
    assert [e.side for e in r.events] == sides


@pytest.mark.parametrize(
    "text", ["[" * 100_000 + "]" * 100_000, '{"a":' * 50_000 + "1" + "}" * 50_000]
)
def test_deep_nesting_is_a_reject(text: str) -> None:
    for src in all_sources():
        r = src.parse(text)
        assert r.rejects == 1 and not r.events
        assert src.on_rest(REST_PATHS[0], text).rejects == 1

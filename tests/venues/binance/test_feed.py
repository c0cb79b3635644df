import json
from decimal import Decimal

import pytest

from bot.config import Settings
from bot.domain import LONG, SHORT, Liquidation
from bot.venues import make_source
from bot.venues.base import Heartbeat
from bot.venues.binance.feed import BinanceSource

# The documented payload (data-sources.md §1.3), raw form.
DOC_RAW = {
    "e": "forceOrder",
    "E": 1568014460893,
    "o": {
        "s": "BTCUSDT",
        "S": "SELL",
        "o": "LIMIT",
        "f": "IOC",
        "q": "0.014",
        "p": "9910",
        "ap": "9910",
        "X": "FILLED",
        "l": "0.014",
        "z": "0.014",
        "T": 1568014460893,
    },
}

# Partially printed multi-fill order: l < z, q/p differ from z/ap.
MULTI_FILL = {
    "e": "forceOrder",
    "E": 1760130001010,
    "o": {
        "s": "1000PEPEUSDT",
        "S": "BUY",
        "o": "LIMIT",
        "f": "IOC",
        "q": "30000",
        "p": "0.0105",
        "ap": "0.01012",
        "X": "FILLED",
        "l": "12417",
        "z": "28448",
        "T": 1760130000000,
    },
}


@pytest.fixture
def src() -> BinanceSource:
    return BinanceSource("wss://fstream.binance.com/market")


def test_plan_uses_routed_combined_stream(src: BinanceSource) -> None:
    (plan,) = src.plans()
    assert plan.url == "wss://fstream.binance.com/market/stream?streams=!forceOrder@arr"
    assert plan.subscribe == ()
    assert src.ready() and src.rest_paths() == []


def test_trailing_slash_in_base_url() -> None:
    (plan,) = BinanceSource("ws://127.0.0.1:9/market/").plans()
    assert plan.url == "ws://127.0.0.1:9/market/stream?streams=!forceOrder@arr"


def test_documented_raw_payload(src: BinanceSource) -> None:
    r = src.parse(json.dumps(DOC_RAW))
    assert (r.rejects, r.control) == (0, False)
    assert r.events == [
        Liquidation(
            venue="binance",
            symbol="BTCUSDT",
            coin="BTC",
            side=LONG,
            price=9910.0,
            qty=0.014,
            usd=pytest.approx(float(Decimal("0.014") * Decimal("9910")), rel=1e-12),
            ts_ms=1568014460893,
        )
    ]


def test_combined_wrapper(src: BinanceSource) -> None:
    r = src.parse(json.dumps({"stream": "!forceOrder@arr", "data": DOC_RAW}))
    assert [e.symbol for e in r.events] == ["BTCUSDT"]
    assert r.rejects == 0


def test_combined_wrapper_with_list_data(src: BinanceSource) -> None:
    r = src.parse(json.dumps({"stream": "!forceOrder@arr", "data": [DOC_RAW, MULTI_FILL]}))
    assert [e.symbol for e in r.events] == ["BTCUSDT", "1000PEPEUSDT"]
    assert sum(e.usd for e in r.events) == pytest.approx(
        float(Decimal("0.014") * Decimal("9910") + Decimal("28448") * Decimal("0.01012")),
        rel=1e-12,
    )


def test_usd_is_filled_qty_times_average_price(src: BinanceSource) -> None:
    (e,) = src.parse(json.dumps(MULTI_FILL)).events
    assert e.qty == 28448.0  # z, not l (12417) nor q (30000)
    assert e.price == 0.01012  # ap, not p
    assert e.usd == pytest.approx(float(Decimal("28448") * Decimal("0.01012")), rel=1e-12)
    assert e.usd != pytest.approx(30000 * 0.0105)
    assert e.ts_ms == 1760130000000  # o.T, not E
    assert e.coin == "PEPE"


@pytest.mark.parametrize(("order_side", "position"), [("SELL", LONG), ("BUY", SHORT)])
def test_side_is_opposite_of_order_side(
    src: BinanceSource, order_side: str, position: str
) -> None:
    payload = {**DOC_RAW, "o": {**DOC_RAW["o"], "S": order_side}}  # type: ignore[dict-item]
    (e,) = src.parse(json.dumps(payload)).events
    assert e.side == position


@pytest.mark.parametrize(
    "text",
    ['{"result":null,"id":1}', '{"result":["!forceOrder@arr"],"id":2}'],
)
def test_control_replies(src: BinanceSource, text: str) -> None:
    r = src.parse(text)
    assert r.control and not r.events and r.rejects == 0 and r.notice is None


def test_error_reply_is_control_with_notice(src: BinanceSource) -> None:
    r = src.parse('{"error":{"code":2,"msg":"Invalid request"},"id":3}')
    assert r.control and r.notice is not None and "Invalid request" in r.notice


def _order(**changes: object) -> dict[str, object]:
    return {**DOC_RAW, "o": {**DOC_RAW["o"], **changes}}  # type: ignore[dict-item]


@pytest.mark.parametrize(
    "bad",
    [
        _order(S="sell"),
        _order(S=None),
        _order(z="0"),
        _order(z="-0.014"),
        _order(ap="nan"),
        _order(ap="inf"),
        _order(ap="abc"),
        _order(z=None),
        _order(T="soon"),
        _order(T=None),
        _order(s=""),
        _order(s=12),
        {"e": "forceOrder", "o": "x"},
        {"e": "markPriceUpdate", "s": "BTCUSDT", "p": "1"},
        "just a string",
        7,
    ],
)
def test_malformed_items_are_counted_good_ones_kept(src: BinanceSource, bad: object) -> None:
    r = src.parse(json.dumps({"stream": "!forceOrder@arr", "data": [DOC_RAW, bad, MULTI_FILL]}))
    assert len(r.events) == 2
    assert r.rejects == 1 and r.sample
    assert not r.control


@pytest.mark.parametrize("text", ["", "{", "not json", "[]", "null", '{"foo":1}', "pong"])
def test_garbage_messages_are_rejects(src: BinanceSource, text: str) -> None:
    r = src.parse(text)
    assert r.events == [] and r.rejects == 1 and not r.control


def test_overflowing_notional_rejected(src: BinanceSource) -> None:
    r = src.parse(json.dumps(_order(z="1e200", ap="1e200")))
    assert r.events == [] and r.rejects == 1


def test_heartbeat_watches_data_only_and_reconnects_before_24h(src: BinanceSource) -> None:
    hb = src.heartbeat
    assert hb.text is None and hb.data_only and hb.silence_limit_s == 300
    assert hb.max_age_s is not None and hb.max_age_s < 24 * 3600
    short = Heartbeat(text=None, interval_s=0.1, silence_limit_s=0.5, data_only=True)
    assert BinanceSource("ws://x/market", heartbeat=short).heartbeat is short


def test_make_source_uses_settings_url() -> None:
    s = make_source("binance", Settings(ws_urls={"binance": "ws://127.0.0.1:8765/market"}))
    assert s.name == "binance"
    assert s.plans()[0].url == "ws://127.0.0.1:8765/market/stream?streams=!forceOrder@arr"
    with pytest.raises(ValueError, match="unknown venue"):
        make_source("kraken", Settings())

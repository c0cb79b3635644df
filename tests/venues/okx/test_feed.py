import json
from decimal import Decimal
from typing import Any

import pytest

from bot.config import Settings
from bot.domain import LONG, SHORT, Liquidation
from bot.venues import make_source
from bot.venues.okx.feed import INSTRUMENTS_PATH, OkxSource

URL = "wss://ws.okx.com:8443/ws/v5/public"

# The documented push (data-sources.md §3.2).
DOC_PUSH: dict[str, Any] = {
    "arg": {"channel": "liquidation-orders", "instType": "SWAP"},
    "data": [
        {
            "details": [
                {
                    "bkLoss": "0",
                    "bkPx": "0.007831",
                    "ccy": "",
                    "posSide": "short",
                    "side": "buy",
                    "sz": "13",
                    "ts": "1692266434010",
                }
            ],
            "instFamily": "IOST-USDT",
            "instId": "IOST-USDT-SWAP",
            "instType": "SWAP",
            "uly": "IOST-USDT",
        }
    ],
}


def instrument(inst_id: str, ct_val: str, ct_type: str, ct_mult: str = "1") -> dict[str, str]:
    base, quote = inst_id.split("-")[:2]
    return {
        "instType": "SWAP",
        "instId": inst_id,
        "uly": f"{base}-{quote}",
        "instFamily": f"{base}-{quote}",
        "ctVal": ct_val,
        "ctMult": ct_mult,
        "ctType": ct_type,
        "ctValCcy": base if ct_type == "linear" else quote,
        "settleCcy": quote if ct_type == "linear" else base,
        "state": "live",
    }


INSTRUMENTS = [
    instrument("BTC-USDT-SWAP", "0.01", "linear"),
    instrument("IOST-USDT-SWAP", "1000", "linear"),
    instrument("BTC-USD-SWAP", "100", "inverse"),
    instrument("XYZ-USDT-SWAP", "10", "linear", ct_mult="2"),
]


def body(items: list[Any]) -> str:
    return json.dumps({"code": "0", "msg": "", "data": items})


@pytest.fixture
def src() -> OkxSource:
    s = OkxSource(URL)
    r = s.on_rest(INSTRUMENTS_PATH, body(INSTRUMENTS))
    assert (r.accepted, r.rejects, r.next_path) == (4, 0, None)
    return s


def push(inst_id: str, *details: dict[str, Any]) -> str:
    return json.dumps(
        {
            "arg": {"channel": "liquidation-orders", "instType": "SWAP"},
            "data": [{"details": list(details), "instId": inst_id, "instType": "SWAP"}],
        }
    )


def detail(
    sz: str, px: str, pos: str = "long", side: str = "sell", ts: str = "1760130000000"
) -> dict[str, Any]:
    return {"bkLoss": "0", "bkPx": px, "ccy": "", "posSide": pos, "side": side, "sz": sz, "ts": ts}


def test_plan_and_readiness() -> None:
    s = OkxSource(URL)
    assert not s.ready() and s.rest_paths() == [INSTRUMENTS_PATH]
    (plan,) = s.plans()
    assert plan.url == URL
    assert [json.loads(m) for m in plan.subscribe] == [
        {"op": "subscribe", "args": [{"channel": "liquidation-orders", "instType": "SWAP"}]}
    ]


def test_documented_push_linear(src: OkxSource) -> None:
    r = src.parse(json.dumps(DOC_PUSH))
    assert (r.rejects, r.control) == (0, False)
    # 13 contracts × 1000 IOST = 13,000 IOST; × 0.007831 = 101.803 USD
    assert r.events == [
        Liquidation(
            venue="okx",
            symbol="IOST-USDT-SWAP",
            coin="IOST",
            side=SHORT,
            price=0.007831,
            qty=pytest.approx(13000.0, rel=1e-12),
            usd=pytest.approx(101.803, rel=1e-12),
            ts_ms=1692266434010,
        )
    ]


def test_linear_btc(src: OkxSource) -> None:
    (e,) = src.parse(push("BTC-USDT-SWAP", detail("25", "104000.5"))).events
    # 25 × 0.01 BTC = 0.25 BTC; × 104,000.5 = 26,000.125 USD
    assert e.qty == pytest.approx(0.25, rel=1e-12)
    assert e.usd == pytest.approx(26000.125, rel=1e-12)
    assert (e.coin, e.side, e.price) == ("BTC", LONG, 104000.5)


def test_linear_with_contract_multiplier(src: OkxSource) -> None:
    (e,) = src.parse(push("XYZ-USDT-SWAP", detail("3", "1.5"))).events
    # 3 × 10 × 2 = 60 XYZ; × 1.5 = 90 USD
    assert e.qty == pytest.approx(60.0, rel=1e-12)
    assert e.usd == pytest.approx(90.0, rel=1e-12)


def test_inverse_is_already_usd(src: OkxSource) -> None:
    (e,) = src.parse(push("BTC-USD-SWAP", detail("7", "104000", pos="short", side="buy"))).events
    # 7 contracts × 100 USD = 700 USD; 700 / 104,000 BTC
    assert e.usd == pytest.approx(700.0, rel=1e-12)
    assert e.qty == pytest.approx(700 / 104000, rel=1e-12)
    assert (e.coin, e.side) == ("BTC", SHORT)


@pytest.mark.parametrize(
    ("pos", "side", "liquidated"),
    [
        ("long", "sell", LONG),
        ("short", "buy", SHORT),
        # hedge mode: posSide wins even if the order side looks odd
        ("long", "buy", LONG),
        ("short", "sell", SHORT),
        # net mode: the ORDER side, so sell closes a long
        ("net", "sell", LONG),
        ("net", "buy", SHORT),
        ("", "sell", LONG),
        ("", "buy", SHORT),
    ],
)
def test_side_mapping(src: OkxSource, pos: str, side: str, liquidated: str) -> None:
    (e,) = src.parse(push("BTC-USDT-SWAP", detail("1", "100000", pos=pos, side=side))).events
    assert e.side == liquidated


def test_missing_pos_side_uses_order_side(src: OkxSource) -> None:
    d = detail("1", "100000", side="buy")
    del d["posSide"]
    (e,) = src.parse(push("BTC-USDT-SWAP", d)).events
    assert e.side == SHORT


def test_all_details_and_items_are_read(src: OkxSource) -> None:
    msg = {
        "arg": {"channel": "liquidation-orders", "instType": "SWAP"},
        "data": [
            {
                "instId": "BTC-USDT-SWAP",
                "details": [
                    detail("10", "100000", ts="1760130000001"),
                    detail("4", "99000", pos="net", side="buy", ts="1760130000002"),
                    detail("1", "98000", ts="1760130000003"),
                ],
            },
            {"instId": "BTC-USD-SWAP", "details": [detail("50", "98500")]},
        ],
    }
    r = src.parse(json.dumps(msg))
    assert r.rejects == 0 and len(r.events) == 4
    expected = (
        Decimal("10") * Decimal("0.01") * Decimal("100000")
        + Decimal("4") * Decimal("0.01") * Decimal("99000")
        + Decimal("1") * Decimal("0.01") * Decimal("98000")
        + Decimal("50") * Decimal("100")
    )
    assert sum(e.usd for e in r.events) == pytest.approx(float(expected), rel=1e-12)
    assert [e.side for e in r.events] == [LONG, SHORT, LONG, LONG]


def test_unknown_instrument_rejected_per_detail(src: OkxSource) -> None:
    r = src.parse(push("NEW-USDT-SWAP", detail("1", "1"), detail("2", "1")))
    assert r.events == [] and r.rejects == 2
    assert r.sample is not None and "unknown instrument" in r.sample
    assert not OkxSource(URL).parse(json.dumps(DOC_PUSH)).events  # before any REST


@pytest.mark.parametrize(
    "bad",
    [
        detail("0", "100"),
        detail("-1", "100"),
        detail("1", "nan"),
        detail("1", "inf"),
        detail("x", "100"),
        detail("1", "100", ts="soon"),
        detail("1", "100", ts=""),
        detail("1", "100", pos="both"),
        detail("1", "100", pos="net", side="close"),
        {"sz": "1"},
        "detail",
        None,
    ],
)
def test_malformed_detail_counted_others_kept(src: OkxSource, bad: Any) -> None:
    r = src.parse(push("BTC-USDT-SWAP", detail("1", "100000"), bad, detail("2", "100000")))
    assert len(r.events) == 2 and r.rejects == 1 and r.sample


@pytest.mark.parametrize(
    "text",
    [
        '{"event":"subscribe","arg":{"channel":"liquidation-orders","instType":"SWAP"},'
        '"connId":"a4d3ae55"}',
        "pong",
        '{"event":"channel-conn-count","channel":"liquidation-orders","connCount":"1",'
        '"connId":"a4d3ae55"}',
    ],
)
def test_control_messages(text: str) -> None:
    r = OkxSource(URL).parse(text)
    assert r.control and r.rejects == 0 and r.notice is None


def test_error_event_is_control_with_notice() -> None:
    text = '{"event":"error","code":"60012","msg":"Invalid request","connId":"a4d3ae55"}'
    r = OkxSource(URL).parse(text)
    assert r.control and r.notice is not None and "60012" in r.notice


@pytest.mark.parametrize(
    "text",
    [
        "ping",
        "{}",
        '{"event":"login"}',
        '{"arg":{"channel":"tickers","instId":"BTC-USDT"},"data":[{"last":"1"}]}',
        '{"arg":{"channel":"liquidation-orders"},"data":[]}',
        '{"arg":{"channel":"liquidation-orders"},"data":[{"instId":"BTC-USDT-SWAP"}]}',
    ],
)
def test_unknown_messages_count_one_reject(text: str) -> None:
    r = OkxSource(URL).parse(text)
    assert r.rejects == 1 and not r.control and not r.events


def test_bad_instruments_rejected_good_ones_loaded() -> None:
    s = OkxSource(URL)
    items = [
        instrument("ETH-USDT-SWAP", "0.1", "linear"),
        instrument("BAD1-USDT-SWAP", "0", "linear"),
        instrument("BAD2-USDT-SWAP", "1", "quanto"),
        {**instrument("BAD3-USDT-SWAP", "1", "linear"), "ctMult": "nan"},
        {**instrument("ETC-USDT-SWAP", "10", "linear"), "ctMult": ""},
        "junk",
    ]
    r = s.on_rest(INSTRUMENTS_PATH, body(items))
    assert (r.accepted, r.rejects) == (2, 4) and r.sample
    assert s.contract("ETH-USDT-SWAP") == (True, 0.1)
    assert s.contract("ETC-USDT-SWAP") == (True, 10.0)
    assert s.contract("BAD1-USDT-SWAP") is None


def test_error_body_keeps_contracts(src: OkxSource) -> None:
    r = src.on_rest(INSTRUMENTS_PATH, '{"code":"50011","msg":"Too Many Requests","data":[]}')
    assert r.rejects == 1 and r.sample and "Too Many Requests" in r.sample
    assert src.ready() and src.contract("BTC-USD-SWAP") == (False, 100.0)


def test_refresh_updates_contract_values(src: OkxSource) -> None:
    src.on_rest(INSTRUMENTS_PATH, body([instrument("BTC-USDT-SWAP", "0.001", "linear")]))
    assert src.contract("BTC-USDT-SWAP") == (True, 0.001)
    assert src.contract("BTC-USD-SWAP") == (False, 100.0)  # merged, not dropped


def test_make_source_and_heartbeat() -> None:
    s = make_source("okx", Settings(ws_urls={"okx": "ws://127.0.0.1:9/ws/v5/public"}))
    assert s.plans()[0].url == "ws://127.0.0.1:9/ws/v5/public"
    hb = s.heartbeat
    assert (hb.text, hb.interval_s, hb.silence_limit_s) == ("ping", 20.0, 60.0)

import json
from decimal import Decimal

import pytest

from bot.config import Settings
from bot.domain import LONG, SHORT, Liquidation
from bot.venues import make_source
from bot.venues.bybit.feed import INSTRUMENTS_PATH, BybitSource

URL = "wss://stream.bybit.com/v5/public/linear"

# The documented message (data-sources.md §2.2).
DOC_MESSAGE = {
    "topic": "allLiquidation.ROSEUSDT",
    "type": "snapshot",
    "ts": 1739502303204,
    "data": [{"T": 1739502302929, "s": "ROSEUSDT", "S": "Sell", "v": "20000", "p": "0.04499"}],
}


def instruments(symbols: list[str], cursor: str = "", status: str = "Trading") -> str:
    items = [
        {
            "symbol": s,
            "contractType": "LinearPerpetual",
            "status": status,
            "baseCoin": s.removesuffix("USDT"),
            "quoteCoin": "USDT",
            "settleCoin": "USDT",
            "fundingInterval": 480,
        }
        for s in symbols
    ]
    return json.dumps(
        {
            "retCode": 0,
            "retMsg": "OK",
            "result": {"category": "linear", "list": items, "nextPageCursor": cursor},
            "retExtInfo": {},
            "time": 1739502303204,
        }
    )


def loaded(symbols: list[str]) -> BybitSource:
    src = BybitSource(URL)
    r = src.on_rest(INSTRUMENTS_PATH, instruments(symbols))
    assert r.accepted == len(symbols) and r.next_path is None
    return src


def topics(src: BybitSource) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for plan in src.plans():
        assert plan.url == URL
        for text in plan.subscribe:
            msg = json.loads(text)
            assert msg["op"] == "subscribe" and isinstance(msg["req_id"], str)
            assert 1 <= len(msg["args"]) <= 50
            out.setdefault(plan.key, []).extend(msg["args"])
    return out


def names(n: int, prefix: str = "C") -> list[str]:
    return [f"{prefix}{i:04d}USDT" for i in range(n)]


def test_documented_message_sell_is_short() -> None:
    r = loaded(["ROSEUSDT"]).parse(json.dumps(DOC_MESSAGE))
    assert (r.rejects, r.control) == (0, False)
    assert r.events == [
        Liquidation(
            venue="bybit",
            symbol="ROSEUSDT",
            coin="ROSE",
            side=SHORT,
            price=0.04499,
            qty=20000.0,
            usd=pytest.approx(float(Decimal("20000") * Decimal("0.04499")), rel=1e-12),
            ts_ms=1739502302929,
        )
    ]


@pytest.mark.parametrize(("position_side", "liquidated"), [("Buy", LONG), ("Sell", SHORT)])
def test_side_is_the_position_side(position_side: str, liquidated: str) -> None:
    # Opposite to Binance: Bybit's "Buy" means a LONG position was liquidated.
    msg = {**DOC_MESSAGE, "data": [{**DOC_MESSAGE["data"][0], "S": position_side}]}  # type: ignore[index]
    (e,) = BybitSource(URL).parse(json.dumps(msg)).events
    assert e.side == liquidated


def test_several_events_in_one_message() -> None:
    data = [
        {"T": 1760130000100, "s": "BTCUSDT", "S": "Buy", "v": "0.75", "p": "104250.5"},
        {"T": 1760130000200, "s": "BTCUSDT", "S": "Buy", "v": "1.2", "p": "104100"},
        {"T": 1760130000300, "s": "BTCUSDT", "S": "Sell", "v": "0.003", "p": "104300.1"},
    ]
    msg = {"topic": "allLiquidation.BTCUSDT", "type": "snapshot", "ts": 1, "data": data}
    r = BybitSource(URL).parse(json.dumps(msg))
    assert r.rejects == 0
    assert [e.side for e in r.events] == [LONG, LONG, SHORT]
    assert [e.ts_ms for e in r.events] == [1760130000100, 1760130000200, 1760130000300]
    expected = sum(Decimal(d["v"]) * Decimal(d["p"]) for d in data)  # type: ignore[misc]
    assert sum(e.usd for e in r.events) == pytest.approx(float(expected), rel=1e-12)


@pytest.mark.parametrize(
    "bad",
    [
        {"T": 1760130000100, "s": "BTCUSDT", "S": "buy", "v": "1", "p": "1"},
        {"T": 1760130000100, "s": "BTCUSDT", "S": "Buy", "v": "0", "p": "1"},
        {"T": 1760130000100, "s": "BTCUSDT", "S": "Buy", "v": "1", "p": "-3"},
        {"T": 1760130000100, "s": "BTCUSDT", "S": "Buy", "v": "NaN", "p": "1"},
        {"T": 1760130000100, "s": "BTCUSDT", "S": "Buy", "v": "1", "p": "Infinity"},
        {"T": "x", "s": "BTCUSDT", "S": "Buy", "v": "1", "p": "1"},
        {"s": "BTCUSDT", "S": "Buy", "v": "1", "p": "1"},
        {"T": 1760130000100, "S": "Buy", "v": "1", "p": "1"},
        ["T", 1],
        None,
    ],
)
def test_malformed_item_counted_others_kept(bad: object) -> None:
    good = DOC_MESSAGE["data"][0]  # type: ignore[index]
    msg = {**DOC_MESSAGE, "data": [good, bad, good]}
    r = BybitSource(URL).parse(json.dumps(msg))
    assert len(r.events) == 2 and r.rejects == 1 and r.sample


@pytest.mark.parametrize(
    "text",
    [
        '{"success":true,"ret_msg":"","conn_id":"abc","req_id":"bybit-0.0","op":"subscribe"}',
        '{"success":true,"ret_msg":"pong","conn_id":"abc","op":"ping"}',
        '{"req_id":"1","op":"pong","args":["1675418560633"],"conn_id":"abc"}',
    ],
)
def test_acks_and_pongs_are_control(text: str) -> None:
    r = BybitSource(URL).parse(text)
    assert r.control and r.rejects == 0 and not r.events and r.notice is None


def test_failed_subscribe_is_control_with_notice() -> None:
    text = (
        '{"success":false,"ret_msg":"error:handler not found,topic:allLiquidation.NOPEUSDT",'
        '"conn_id":"abc","op":"subscribe"}'
    )
    r = BybitSource(URL).parse(text)
    assert r.control and r.notice is not None and "handler not found" in r.notice


@pytest.mark.parametrize(
    "text",
    [
        "nope",
        "[1]",
        '{"topic":"tickers.BTCUSDT","data":{"symbol":"BTCUSDT"}}',
        '{"topic":"allLiquidation.BTCUSDT","data":{"s":"BTCUSDT"}}',
        '{"topic":"allLiquidation.BTCUSDT","data":[]}',
        '{"hello":"world"}',
        '{"op":"auth-nonsense"}',
    ],
)
def test_unknown_messages_count_one_reject(text: str) -> None:
    r = BybitSource(URL).parse(text)
    assert r.rejects == 1 and not r.control and not r.events


def test_not_ready_without_symbols() -> None:
    src = BybitSource(URL)
    assert not src.ready() and src.plans() == []
    assert src.rest_paths() == [INSTRUMENTS_PATH]


def test_topics_spread_200_per_connection_50_per_message() -> None:
    symbols = names(450)
    src = loaded(symbols)
    t = topics(src)
    assert [len(v) for v in t.values()] == [200, 200, 50]
    assert sorted(x for v in t.values() for x in v) == sorted(
        f"allLiquidation.{s}" for s in symbols
    )
    assert [len(p.subscribe) for p in src.plans()] == [4, 4, 1]
    assert len({p.key for p in src.plans()}) == 3


def test_pagination_across_two_pages() -> None:
    src = BybitSource(URL)
    first = src.on_rest(INSTRUMENTS_PATH, instruments(["BTCUSDT", "ETHUSDT"], cursor="p%3D2"))
    assert first.accepted == 2
    assert first.next_path == INSTRUMENTS_PATH + "&cursor=p%3D2"
    assert not src.ready()  # nothing is replaced until the last page arrives
    assert first.next_path is not None
    last = src.on_rest(first.next_path, instruments(["SOLUSDT", "1000PEPEUSDT"]))
    assert last.accepted == 2 and last.next_path is None
    assert sorted(src.symbols()) == ["1000PEPEUSDT", "BTCUSDT", "ETHUSDT", "SOLUSDT"]
    assert src.ready()


def test_raw_cursor_characters_are_encoded() -> None:
    src = BybitSource(URL)
    r = src.on_rest(INSTRUMENTS_PATH, instruments(["BTCUSDT"], cursor="a=1&b=2"))
    assert r.next_path == INSTRUMENTS_PATH + "&cursor=a%3D1%26b%3D2"


def test_half_fetched_refresh_never_drops_symbols() -> None:
    src = loaded(["BTCUSDT", "ETHUSDT", "SOLUSDT"])
    before = src.plans()
    first = src.on_rest(INSTRUMENTS_PATH, instruments(["BTCUSDT"], cursor="next"))
    assert first.next_path is not None
    failed = src.on_rest(first.next_path, '{"retCode":10006,"retMsg":"Too many visits!"}')
    assert failed.rejects == 1 and failed.sample and "Too many visits" in failed.sample
    assert src.plans() == before
    # A late page of the abandoned cycle is not applied either.
    late = src.on_rest(first.next_path, instruments(["XRPUSDT"]))
    assert late.rejects == 1 and src.plans() == before


def test_only_trading_symbols_kept() -> None:
    src = BybitSource(URL)
    body = json.loads(instruments(["BTCUSDT", "OLDUSDT", "NEWUSDT"]))
    body["result"]["list"][1]["status"] = "Closed"
    body["result"]["list"][2]["status"] = "PreLaunch"
    r = src.on_rest(INSTRUMENTS_PATH, json.dumps(body))
    assert r.accepted == 1 and r.rejects == 0
    assert src.symbols() == ["BTCUSDT"]


def test_empty_list_keeps_previous_symbols() -> None:
    src = loaded(["BTCUSDT"])
    r = src.on_rest(INSTRUMENTS_PATH, instruments([]))
    assert r.rejects == 1 and src.symbols() == ["BTCUSDT"]


def test_plans_stable_when_a_symbol_is_listed() -> None:
    symbols = names(450)
    src = loaded(symbols)
    before = {p.key: p for p in src.plans()}
    src.on_rest(INSTRUMENTS_PATH, instruments([*symbols, "AAAAUSDT"]))  # sorts first
    after = {p.key: p for p in src.plans()}
    changed = [k for k in after if after[k] != before.get(k)]
    assert changed == ["bybit-2"]  # only the last, not-full connection
    assert "allLiquidation.AAAAUSDT" in topics(src)["bybit-2"]


def test_new_connection_when_the_last_is_full() -> None:
    symbols = names(400)
    src = loaded(symbols)
    before = src.plans()
    src.on_rest(INSTRUMENTS_PATH, instruments([*symbols, "NEWUSDT"]))
    after = src.plans()
    assert after[:2] == before
    assert after[2].key == "bybit-2" and topics(src)["bybit-2"] == ["allLiquidation.NEWUSDT"]


def test_delisting_changes_only_its_connection() -> None:
    symbols = names(450)
    src = loaded(symbols)
    before = {p.key: p for p in src.plans()}
    gone = symbols[10]  # on the first connection
    src.on_rest(INSTRUMENTS_PATH, instruments([s for s in symbols if s != gone]))
    after = {p.key: p for p in src.plans()}
    assert [k for k in after if after[k] != before[k]] == ["bybit-0"]
    assert f"allLiquidation.{gone}" not in topics(src)["bybit-0"]


def test_make_source_uses_settings_url() -> None:
    src = make_source("bybit", Settings(ws_urls={"bybit": "ws://127.0.0.1:9/v5/public/linear"}))
    src.on_rest(src.rest_paths()[0], instruments(["BTCUSDT"]))
    assert [p.url for p in src.plans()] == ["ws://127.0.0.1:9/v5/public/linear"]


def test_heartbeat_is_json_ping() -> None:
    hb = BybitSource(URL).heartbeat
    assert json.loads(hb.text or "") == {"op": "ping"}
    assert (hb.interval_s, hb.silence_limit_s, hb.data_only) == (20.0, 60.0, False)


def reply(success: bool, req_id: str | None, ret_msg: str = "") -> str:
    msg: dict[str, object] = {"success": success, "ret_msg": ret_msg, "conn_id": "c1"}
    if req_id is not None:
        msg["req_id"] = req_id
    return json.dumps({**msg, "op": "subscribe"})


def single_topics(replies: tuple[str, ...]) -> list[tuple[str, list[str]]]:
    out = []
    for text in replies:
        msg = json.loads(text)
        assert msg["op"] == "subscribe"
        out.append((msg["req_id"], msg["args"]))
    return out


def test_rejected_batch_is_resent_topic_by_topic_with_req_ids_naming_them() -> None:
    src = loaded(names(120))
    batch = json.loads(src.plans()[0].subscribe[1])  # req_id bybit-0.1: topics 50..99
    bad = "error:handler not found,topic:allLiquidation.C0070USDT"
    r = src.parse(reply(False, batch["req_id"], bad))
    assert r.control and r.rejects == 0 and not r.events
    assert single_topics(r.replies) == [(f"bybit-0:{t}", [t]) for t in batch["args"]]
    assert r.notice is not None and "retrying them one by one" in r.notice
    assert src.dropped_topics() == frozenset()  # nothing is dropped before its own refusal
    # Each single then answers: 49 taken, one refused on its own.
    for topic in batch["args"]:
        ok = topic != "allLiquidation.C0070USDT"
        single = src.parse(reply(ok, f"bybit-0:{topic}", "" if ok else bad))
        assert single.control and not single.replies and (single.notice is None) == ok
    assert src.dropped_topics() == {"allLiquidation.C0070USDT"}


def test_failure_without_req_id_finds_the_batch_by_the_topic_it_names() -> None:
    src = loaded(names(120))
    r = src.parse(reply(False, None, "error:handler not found,topic:allLiquidation.C0110USDT"))
    assert [args for _, args in single_topics(r.replies)] == [
        [f"allLiquidation.C{i:04d}USDT"] for i in range(100, 120)
    ]
    r = src.parse(reply(False, "someone-else", "error:params error"))
    assert r.replies == () and r.notice is not None and "params error" in r.notice


def test_dropped_topics_are_retried_after_a_refresh_until_taken_or_delisted() -> None:
    src = loaded(names(60))
    src.parse(reply(False, "bybit-0:allLiquidation.C0003USDT", "error:handler not found"))
    src.parse(reply(False, "bybit-0:allLiquidation.C0055USDT", "error:handler not found"))
    assert src.dropped_topics() == {"allLiquidation.C0003USDT", "allLiquidation.C0055USDT"}
    assert src.outgoing("bybit-0") == []  # nothing queued before a refresh
    src.on_rest(INSTRUMENTS_PATH, instruments(names(60)))
    assert [json.loads(t)["args"] for t in src.outgoing("bybit-0")] == [
        ["allLiquidation.C0003USDT"],
        ["allLiquidation.C0055USDT"],
    ]
    assert src.outgoing("bybit-0") == []  # each retry is handed out once
    src.parse(reply(True, "bybit-0:allLiquidation.C0003USDT"))
    assert src.dropped_topics() == {"allLiquidation.C0055USDT"}
    src.on_rest(INSTRUMENTS_PATH, instruments(names(50)))  # C0055 delisted: no loss
    assert src.dropped_topics() == frozenset() and src.outgoing("bybit-0") == []


def test_already_subscribed_is_not_a_dropped_topic() -> None:
    src = loaded(names(3))
    topic = "allLiquidation.C0001USDT"
    src.parse(reply(False, f"bybit-0:{topic}", "error:handler not found"))
    r = src.parse(reply(False, f"bybit-0:{topic}", f"error:already subscribed,topic:{topic}"))
    assert r.notice is None and src.dropped_topics() == frozenset()


def test_a_print_for_another_symbol_than_its_topic_is_a_reject() -> None:
    data = [
        {"T": 1739502302929, "s": "ETHUSDT", "S": "Buy", "v": "1", "p": "2000"},
        {"T": 1739502302929, "s": "BTCUSDT", "S": "Buy", "v": "1", "p": "60000"},
    ]
    r = BybitSource(URL).parse(json.dumps({"topic": "allLiquidation.BTCUSDT", "data": data}))
    assert [e.symbol for e in r.events] == ["BTCUSDT"] and r.rejects == 1

"""SourceHealth: venue liveness over several connections, gaps, counters, snapshot."""

import json

from bot.ingest.health import MAX_GAPS, SourceHealth


def test_startup_wait_is_a_gap_closed_by_the_first_connection() -> None:
    h = SourceHealth("okx")
    assert h.expect(["okx"], 1_000) is None  # never live yet: nothing to close
    assert not h.live and h.down_since == 1_000
    assert h.connection_up("okx", 1_250) == "up"
    assert h.live and h.connected_since == 1_250 and h.down_since is None
    assert h.gaps == [(1_000, 1_250)]


def test_venue_is_live_only_while_every_connection_is_up() -> None:
    h = SourceHealth("bybit")
    h.expect(["bybit-0", "bybit-1"], 0)
    assert h.connection_up("bybit-0", 10) is None
    assert not h.live
    assert h.connection_up("bybit-1", 20) == "up"
    assert h.connected_since == 20
    assert h.connection_down("bybit-1", 500, "closed by server (code 1006)") == "down"
    assert not h.live and h.connected_since is None
    assert h.last_error == "closed by server (code 1006)"
    assert h.connection_down("bybit-0", 510) is None  # already down: same gap
    h.connection_up("bybit-0", 600)
    assert h.connection_up("bybit-1", 700) == "up"
    assert h.gaps == [(0, 20), (500, 700)]


def test_expect_keeps_known_states_and_drops_removed_connections() -> None:
    h = SourceHealth("bybit")
    h.expect(["a", "b"], 0)
    h.connection_up("a", 1)
    h.connection_up("b", 2)
    # "c" is new (down): the venue stops being live until it connects.
    assert h.expect(["a", "c"], 100) == "down"
    assert h.connections == {"a": True, "c": False}
    assert h.connection_up("b", 101) is None  # a stale key changes nothing
    assert h.connection_up("c", 150) == "up"
    assert h.gaps == [(0, 2), (100, 150)]


def test_no_connections_is_not_live() -> None:
    h = SourceHealth("bybit")
    h.expect([], 5)
    assert not h.live and h.down_since == 5


def test_counters_and_snapshot_are_json_ready() -> None:
    h = SourceHealth("binance")
    h.expect(["binance"], 0)
    h.connection_up("binance", 10)
    h.message(20)
    h.message(30)
    h.data(30, 3)
    h.reject(2)
    h.reconnects = 1
    snap = h.snapshot()
    assert json.loads(json.dumps(snap)) == snap
    assert snap == {
        "venue": "binance",
        "live": True,
        "connected_since": 10,
        "down_since": None,
        "last_message_ms": 30,
        "last_data_ms": 30,
        "messages": 2,
        "events": 3,
        "rejects": 2,
        "reconnects": 1,
        "gaps": [[0, 10]],
        "last_error": None,
        "connections": {"binance": True},
        "started_ms": None,
        "dropped_topics": 0,
    }


def test_gap_list_is_bounded() -> None:
    h = SourceHealth("okx")
    h.expect(["okx"], 0)
    for i in range(MAX_GAPS + 20):
        h.connection_up("okx", 10 * i + 1)
        h.connection_down("okx", 10 * i + 5)
    assert len(h.gaps) == MAX_GAPS
    assert h.gaps[-1] == (10 * (MAX_GAPS + 19) + 5, None)
    assert h.gaps[-2] == (10 * (MAX_GAPS + 18) + 5, 10 * (MAX_GAPS + 19) + 1)


def test_dropped_topics_are_counted_in_the_snapshot() -> None:
    h = SourceHealth("bybit", started_ms=5)
    h.dropped_topics.update({"allLiquidation.1000000BOBUSDT", "allLiquidation.XUSDT"})
    snap = h.snapshot()
    assert snap["dropped_topics"] == 2 and snap["started_ms"] == 5


def test_outage_counts_from_the_drop_until_now() -> None:
    h = SourceHealth("okx")
    h.expect(["okx"], 0)
    assert h.outage_ms(400) == 400  # still waiting for the first connection
    h.connection_up("okx", 500)
    h.message(600)
    assert h.outage_ms(700) is None
    h.connection_down("okx", 1_000, "connect failed (x)")
    assert h.outage_ms(1_000) == 0
    assert h.outage_ms(721_000) == 720_000


def test_a_silent_reconnect_continues_the_outage() -> None:
    # The socket connects, says nothing, the watchdog cuts it: still the same outage.
    h = SourceHealth("okx")
    h.expect(["okx"], 0)
    h.connection_up("okx", 10)
    h.message(20)
    h.connection_down("okx", 1_000, "socket open but silent for 60 s")
    h.connection_up("okx", 2_000)
    assert h.outage_ms(3_000) == 2_000
    h.connection_down("okx", 62_000, "socket open but silent for 60 s")
    assert h.outage_ms(700_000) == 699_000
    h.connection_up("okx", 701_000)
    h.message(701_500)  # it speaks again: the outage is over
    assert h.outage_ms(702_000) is None


def test_data_only_venues_need_data_to_end_an_outage() -> None:
    h = SourceHealth("binance", data_only=True)
    h.expect(["binance"], 0)
    h.connection_up("binance", 10)
    h.message(20)  # a control answer on an unrouted URL proves nothing
    assert h.outage_ms(30) == 30
    h.data(40, 1)
    assert h.outage_ms(50) is None

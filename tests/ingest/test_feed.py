"""FeedRunner against a real local websocket server speaking the toy format
(``bench/fakes/toy_venue.py``): subscribe, heartbeat, watchdog, reconnects, plans, uptime."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import re
from collections.abc import AsyncIterator, Iterable

import aiohttp
import pytest

from bench.fakes.toy_venue import Sink, ToyServer, ToySource, plan
from bot.domain import Liquidation
from bot.ingest.backoff import BackoffPolicy
from bot.ingest.feed import FeedRunner, FeedTiming
from bot.ingest.health import SourceHealth
from bot.ingest.uptime import MemoryUptime
from bot.venues.base import Heartbeat

FAST = FeedTiming(
    ws_heartbeat_s=2.0,
    connect_timeout_s=2.0,
    close_timeout_s=0.2,
    uptime_extend_s=0.05,
    backoff=BackoffPolicy(base_s=0.02, cap_s=0.1, healthy_s=0.3),
)
PINGING = Heartbeat(text="ping", interval_s=0.05, silence_limit_s=0.4)
QUIET = Heartbeat(text=None, interval_s=1.0, silence_limit_s=5.0)


@pytest.fixture
async def server() -> AsyncIterator[ToyServer]:
    s = ToyServer()
    await s.start()
    yield s
    await s.stop()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


@contextlib.asynccontextmanager
async def running(runner: FeedRunner) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(runner.run())
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def make_runner(
    server: ToyServer,
    session: aiohttp.ClientSession,
    heartbeat: Heartbeat = PINGING,
    keys: Iterable[str] = ("a",),
    uptime: MemoryUptime | None = None,
) -> tuple[FeedRunner, ToySource, Sink]:
    source = ToySource(heartbeat, [plan(server, k) for k in keys])
    sink = Sink()
    runner = FeedRunner(
        source, session, sink, SourceHealth("toy"), uptime, rng=random.Random(5), timing=FAST
    )
    return runner, source, sink


def messages(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == level]


async def test_subscribes_then_feeds_events_rejects_notices_and_control(
    server: ToyServer, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="bot.ingest.feed")
    runner, _, sink = make_runner(server, session, QUIET)
    async with running(runner):
        await server.wait_for(lambda: runner.health.messages == 1)  # the ack
        assert server.received == ["sub a"]
        assert runner.health.live and runner.health.connected_since is not None
        sent = await server.push(
            "a",
            "ev BTCUSDT long 1500.25 1700000000000",
            "ack",
            "bad price: 'x'",
            "bad price: 'y'",
            "bad side 'up'",
            "notice subscribe failed: no such topic",
            "ev ETHUSDT short 99.5 1700000000500",
        )
        assert sent == 7
        await server.wait_for(lambda: runner.health.messages == 8)
    assert [[(e.symbol, e.side, e.usd) for e in b] for b in sink.batches] == [
        [("BTCUSDT", "long", 1500.25)],
        [("ETHUSDT", "short", 99.5)],
    ]
    h = runner.health
    assert (h.messages, h.events, h.rejects) == (8, 2, 3)
    assert h.last_data_ms is not None and h.last_data_ms >= h.gaps[0][1]  # type: ignore[operator]
    # One debug line per kind of reject, with the sample; the notice is a warning.
    debug = [m for m in messages(caplog, logging.DEBUG) if "rejected" in m]
    assert debug == ["toy: rejected 1 item(s): price: 'x'", "toy: rejected 1 item(s): side 'up'"]
    assert "toy: venue says: subscribe failed: no such topic" in messages(caplog, logging.WARNING)


async def test_heartbeat_text_is_sent_and_pongs_keep_the_socket(
    server: ToyServer, session: aiohttp.ClientSession
) -> None:
    runner, _, _ = make_runner(server, session, PINGING)
    async with running(runner):
        await asyncio.sleep(1.0)  # 2.5 silence limits
        pings = server.received.count("ping")
    assert server.handshakes == 1 and runner.health.reconnects == 0
    assert 8 <= pings <= 21  # one per 50 ms


async def test_silent_socket_is_reconnected_and_reported(
    server: ToyServer, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    runner, _, sink = make_runner(server, session, PINGING)
    async with running(runner):
        await server.wait_for(lambda: bool(server.subscribed("a")))
        server.silence = "all"  # open, reading, answering nothing
        await server.wait_for(lambda: server.handshakes == 2, within=3)
        server.silence = "none"
        await server.wait_for(lambda: runner.health.live and bool(server.subscribed("a")))
        await server.push("a", "ev SOLUSDT long 10 1700000000000")
        await server.wait_for(lambda: len(sink.events) == 1)
    silent = [m for m in messages(caplog, logging.WARNING) if "silent" in m]
    assert len(silent) == 1
    assert re.fullmatch(
        r"toy: socket open but silent for \d\.\d s; reconnecting in 0\.\d s", silent[0]
    )
    assert runner.health.reconnects == 1
    assert len(runner.health.gaps) == 3  # start-up, the silent reconnect, shutdown


async def test_data_only_watchdog_is_not_fooled_by_control_replies(
    server: ToyServer, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    hb = Heartbeat(text="ping", interval_s=0.05, silence_limit_s=0.3, data_only=True)
    runner, _, sink = make_runner(server, session, hb)
    async with running(runner):
        await server.wait_for(lambda: bool(server.subscribed("a")))
        for i in range(8):  # data every 0.1 s: below the limit, no reconnect
            await server.push("a", f"ev BTCUSDT long 1 {1700000000000 + i}")
            await asyncio.sleep(0.1)
        assert server.handshakes == 1
        # Pongs keep coming, data does not: the watchdog must still fire.
        await server.wait_for(lambda: server.handshakes == 2, within=2)
    assert len(sink.events) == 8
    assert any("socket open but silent for 0." in m for m in messages(caplog, logging.WARNING))


async def test_planned_reconnect_at_max_age_resubscribes_without_delay(
    server: ToyServer, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.ingest.feed")
    hb = Heartbeat(text=None, interval_s=1.0, silence_limit_s=5.0, max_age_s=0.2)
    runner, _, _ = make_runner(server, session, hb)
    async with running(runner):
        # The subscribe arrives just after the handshake: wait for it, not the handshake.
        await server.wait_for(lambda: server.received.count("sub a") >= 4)
    assert server.handshakes >= 4
    planned = [m for m in messages(caplog, logging.INFO) if "planned reconnect" in m]
    assert len(planned) >= 3 and planned[0].endswith("; reconnecting now")
    assert not [m for m in messages(caplog, logging.WARNING) if "reconnect" in m]


async def test_drop_mid_stream_reconnects_resubscribes_and_records_uptime(
    server: ToyServer, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    uptime = MemoryUptime()
    runner, _, sink = make_runner(server, session, PINGING, uptime=uptime)
    async with running(runner):
        await server.wait_for(lambda: bool(server.subscribed("a")))
        await server.push("a", "ev BTCUSDT long 100 1700000000000")
        await server.wait_for(lambda: len(sink.events) == 1)
        await asyncio.sleep(0.15)  # let the open interval be extended
        assert await server.drop() == 1
        await server.wait_for(lambda: server.handshakes == 2 and bool(server.subscribed("a")))
        await server.push("a", "ev BTCUSDT short 250 1700000001000")
        await server.wait_for(lambda: len(sink.events) == 2)
        await asyncio.sleep(0.15)
        mid = uptime.intervals("toy")
    assert server.received.count("sub a") == 2
    assert [e.usd for e in sink.events] == [100.0, 250.0]
    assert runner.health.reconnects == 1
    lost = [m for m in messages(caplog, logging.WARNING) if "reconnecting in" in m]
    assert len(lost) == 1 and lost[0].startswith("toy: closed by server")
    # Uptime: first interval closed at the drop, second open and extended while live.
    assert len(mid) == 2 and mid[0][2] and not mid[1][2]
    assert mid[0][1] > mid[0][0] and mid[1][1] > mid[1][0] >= mid[0][1]
    gaps = runner.health.gaps
    assert gaps[1][0] == mid[0][1] and gaps[1][1] == mid[1][0]
    # Shutdown closes the open interval.
    assert all(closed for _, _, closed in uptime.intervals("toy"))


async def test_refused_connections_are_retried_one_line_each_then_recover(
    server: ToyServer, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    await server.close_port()
    runner, _, sink = make_runner(server, session, PINGING)
    async with running(runner):
        await server.wait_for(lambda: len(messages(caplog, logging.WARNING)) >= 4)
        await server.start()
        await server.wait_for(lambda: bool(server.subscribed("a")))
        await server.push("a", "ev XRPUSDT long 5 1700000000000")
        await server.wait_for(lambda: len(sink.events) == 1)
        assert runner.health.live and runner.health.reconnects == 0
    failed = [r for r in caplog.records if "connect failed" in r.getMessage()]
    assert len(failed) >= 4
    prefix = f"toy: connect failed (Cannot connect to host 127.0.0.1:{server.port} "
    for record in failed:
        text = record.getMessage()
        assert text.startswith(prefix) and "): retrying in " in text and text.endswith(" s")
        assert float(text.rsplit(" ", 2)[1]) <= FAST.backoff.cap_s
        assert record.exc_info is None  # no traceback for an expected network error


async def test_handshake_rejection_is_retried(
    server: ToyServer, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    server.refusing = True
    runner, _, _ = make_runner(server, session, PINGING)
    async with running(runner):
        await server.wait_for(lambda: len(messages(caplog, logging.WARNING)) >= 2)
        assert not runner.health.live
        assert runner.health.last_error == "connect failed (handshake refused: HTTP 503)"
        server.refusing = False
        await server.wait_for(lambda: runner.health.live)
    assert messages(caplog, logging.WARNING)[0].startswith(
        "toy: connect failed (handshake refused: HTTP 503): retrying in "
    )


async def test_venue_with_several_connections_is_live_only_when_all_are_up(
    server: ToyServer, session: aiohttp.ClientSession
) -> None:
    uptime = MemoryUptime()
    runner, _, _ = make_runner(server, session, PINGING, keys=("a", "b"), uptime=uptime)
    async with running(runner):
        await server.wait_for(lambda: runner.health.live)
        await server.wait_for(lambda: len(uptime.intervals("toy")) == 1)
        assert await server.drop(where=lambda c: c.request.path == "/toy/b") == 1
        await server.wait_for(lambda: not runner.health.live, within=1)
        assert runner.health.connections["a"] is True
        await server.wait_for(lambda: runner.health.live)
        await server.wait_for(lambda: len(uptime.intervals("toy")) == 2)
        first, second = uptime.intervals("toy")
        assert first[2] and not second[2]
    assert sorted(server.connects) == ["/toy/a", "/toy/b", "/toy/b"]
    assert len(runner.health.gaps) == 3


async def test_refresh_restarts_only_changed_plans(
    server: ToyServer, session: aiohttp.ClientSession
) -> None:
    runner, source, _ = make_runner(server, session, PINGING, keys=("a", "b"))
    async with running(runner):
        await server.wait_for(lambda: len(server.subscribed("a") + server.subscribed("b")) == 2)
        runner.refresh()  # same plans: nothing happens
        await asyncio.sleep(0.1)
        assert server.handshakes == 2
        source.current = [plan(server, "b", topic="b2"), plan(server, "c")]
        runner.refresh()
        await server.wait_for(lambda: bool(server.subscribed("b2") and server.subscribed("c")))
        await server.wait_for(lambda: not server.subscribed("a"))
        await server.wait_for(lambda: runner.health.live)
        assert set(runner.plans) == {"b", "c"}
        assert set(runner.health.connections) == {"b", "c"}
    assert sorted(server.connects) == ["/toy/a", "/toy/b", "/toy/b", "/toy/c"]
    assert [t for t in server.received if t.startswith("sub")].count("sub b2") == 1


async def test_nothing_connects_until_the_source_is_ready(
    server: ToyServer, session: aiohttp.ClientSession
) -> None:
    runner, source, _ = make_runner(server, session, PINGING)
    source.is_ready = False
    async with running(runner):
        await asyncio.sleep(0.2)
        assert server.handshakes == 0 and not runner.health.live
        source.is_ready = True
        runner.refresh()
        await server.wait_for(lambda: runner.health.live)
    assert server.connects == ["/toy/a"]


async def test_cancel_closes_sockets_and_the_uptime_interval(
    server: ToyServer, session: aiohttp.ClientSession
) -> None:
    uptime = MemoryUptime()
    runner, _, _ = make_runner(server, session, PINGING, uptime=uptime)
    task = asyncio.create_task(runner.run())
    await server.wait_for(lambda: len(uptime.intervals("toy")) == 1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await server.wait_for(lambda: not server.clients, within=1)
    ((start, end, closed),) = uptime.intervals("toy")
    assert closed and end >= start
    assert not runner.health.live and runner.health.down_since == end


async def test_a_failing_sink_is_logged_once_and_the_feed_goes_on(
    server: ToyServer, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    got: list[float] = []

    def sink(events: list[Liquidation]) -> None:
        if not got:
            got.append(-1.0)
            raise RuntimeError("storage full")
        got.extend(e.usd for e in events)

    source = ToySource(PINGING, [plan(server, "a")])
    runner = FeedRunner(source, session, sink, SourceHealth("toy"), timing=FAST)
    async with running(runner):
        await server.wait_for(lambda: bool(server.subscribed("a")))
        await server.push("a", "ev A long 1 1", "ev B long 2 2", "ev C long 3 3")
        await server.wait_for(lambda: len(got) == 3)
    assert got == [-1.0, 2.0, 3.0] and server.handshakes == 1
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and errors[0].exc_info is not None

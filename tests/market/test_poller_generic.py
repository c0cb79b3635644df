"""The generic poller runs whatever poll plan a venue declares (a toy venue, not listed
in the registry): its snapshots are stored, its failures counted, its 429 pauses it."""

from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from bench.fakes.clock import Clock
from bot.config import Settings
from bot.domain import MarketSnapshot
from bot.market.poller import MarketPoller
from bot.market.state import MarketState
from bot.venues.base import VenueInfo
from bot.venues.poll import PollContext, PollOutcome, VenueFailure

T0 = 1_791_590_400_000


class ToyMarket:
    """One request per cycle: ``/rates`` answers ``SYMBOL RATE`` lines."""

    def __init__(self, ctx: PollContext) -> None:
        self.ctx = ctx

    async def poll(self, ts: int, out: PollOutcome) -> None:
        body = await self.ctx.get("/rates")
        for line in body.splitlines():
            symbol, rate = line.split()
            coin = symbol.removesuffix("USDT")
            out.snapshots.append(
                MarketSnapshot("toy", symbol, coin, ts, float(rate), 8.0, None, 1.0, None, None)
            )
        if not out.snapshots:
            raise VenueFailure("/rates: no usable rows")
        if self.ctx.header("X-Toy-Note"):
            out.errors.append(f"note: {self.ctx.header('x-toy-note')}")


def toy_info() -> VenueInfo:
    def no_feed(url: str, heartbeat: object) -> object:
        raise AssertionError("the poller never builds a feed")

    return VenueInfo(
        "toy", "Toy", False, "ws://127.0.0.1:9", "http://127.0.0.1:9", no_feed, ToyMarket
    )  # type: ignore[arg-type]


class ToyRest:
    def __init__(self) -> None:
        self.answers: list[tuple[int, str, dict[str, str]]] = []
        self.hits = 0

    async def handle(self, request: web.Request) -> web.Response:
        self.hits += 1
        status, body, headers = self.answers.pop(0)
        return web.Response(status=status, text=body, headers=headers)


@pytest.fixture
async def rest() -> AsyncIterator[tuple[ToyRest, str]]:
    toy = ToyRest()
    app = web.Application()
    app.router.add_get("/rates", toy.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield toy, f"http://127.0.0.1:{port}"
    await runner.cleanup()


async def test_a_declared_poll_plan_is_run_stored_and_accounted(
    rest: tuple[ToyRest, str],
) -> None:
    toy, url = rest
    clock = Clock(T0)
    settings = Settings(exchanges=("toy",), rest_urls={"toy": url + "/"})
    state = MarketState(None, settings.funding_poll_s, clock=clock)
    async with aiohttp.ClientSession() as session:
        config = settings.market_config()
        poller = MarketPoller(
            config, session, state, None, clock=clock, venues=lambda name: toy_info()
        )
        toy.answers = [
            (200, "BTCUSDT 0.0001\nETHUSDT -0.0002", {}),
            (200, "BTCUSDT 0.0003", {"X-Toy-Note": "partial"}),
            (429, "slow down", {"Retry-After": "120"}),
        ]
        first = await poller.poll_once()
        assert first.snapshots == {"toy": 2} and first.failed == []
        assert {m.coin for m in state.coins(T0)} == {"BTC", "ETH"}
        clock.advance(60_000)
        second = await poller.poll_once()
        assert second.snapshots == {"toy": 1} and second.failed == ["toy"]
        assert poller.health["toy"].last_error == "note: partial"
        clock.advance(60_000)
        third = await poller.poll_once()
        assert third.failed == ["toy"] and third.snapshots == {}
        assert poller.health["toy"].paused_until_ms == clock() + 120_000
        clock.advance(60_000)
        await poller.poll_once()  # still paused: no request
        assert toy.hits == 3
        assert poller.health["toy"].streak == 3

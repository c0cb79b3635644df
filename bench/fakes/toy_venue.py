"""A tiny test-only venue: a websocket server and a ``VenueSource`` for a trivial format.

The client subscribes with ``sub <topic>`` (ack ``ack``) and pings with ``ping``
(``pong``); data lines are ``ev <symbol> <long|short> <usd> <ts_ms>``; ``bad <reason>``
is a malformed item and ``notice <text>`` a venue-reported error. Used to test the feed
runner without depending on any real venue's parser.
"""

from __future__ import annotations

from bench.fakes.venues import FakeClient, FakeVenue
from bot.domain import Liquidation, ParseResult
from bot.venues.base import ConnectionPlan, Heartbeat, RestResult


class ToyServer(FakeVenue):
    """Sockets on ``/toy/<key>``; pushes go to sockets that sent ``sub <topic>``."""

    def __init__(self) -> None:
        super().__init__()
        self.app.router.add_get("/toy/{key}", self._ws)

    def on_text(self, client: FakeClient, text: str) -> list[str]:
        if text == "ping":
            return ["pong"]
        if text.startswith("sub "):
            client.topics.add(text[4:])
            return ["ack"]
        return []

    async def push(self, topic: str, *texts: str) -> int:
        sent = 0
        for text in texts:
            sent += await self.send_to(self.subscribed(topic), text)
        return sent


class ToySource:
    """A VenueSource for the toy format; plans and readiness are set by the test."""

    name = "toy"

    def __init__(self, heartbeat: Heartbeat, plans: list[ConnectionPlan]) -> None:
        self.heartbeat = heartbeat
        self.current = plans
        self.is_ready = True

    def plans(self) -> list[ConnectionPlan]:
        return list(self.current)

    def ready(self) -> bool:
        return self.is_ready

    def rest_paths(self) -> list[str]:
        return []

    def on_rest(self, path: str, body: str) -> RestResult:
        return RestResult()

    def outgoing(self, key: str) -> list[str]:
        return []

    def dropped_topics(self) -> frozenset[str]:
        return frozenset()

    def parse(self, text: str) -> ParseResult:
        result = ParseResult()
        head, _, rest = text.partition(" ")
        if head == "ev":
            symbol, side, usd, ts = rest.split()
            coin = symbol.removesuffix("USDT")
            result.events.append(
                Liquidation("toy", symbol, coin, side, 1.0, 1.0, float(usd), int(ts))
            )
        elif text in ("ack", "pong"):
            result.control = True
        elif head == "notice":
            result.control = True
            result.notice = rest
        else:
            result.reject(rest if head == "bad" else f"unknown message {text!r}")
        return result


def plan(server: ToyServer, key: str, topic: str | None = None) -> ConnectionPlan:
    return ConnectionPlan(key, server.ws_url(f"/toy/{key}"), (f"sub {topic or key}",))


class Sink:
    def __init__(self) -> None:
        self.batches: list[list[Liquidation]] = []

    def __call__(self, events: list[Liquidation]) -> None:
        self.batches.append(events)

    @property
    def events(self) -> list[Liquidation]:
        return [e for batch in self.batches for e in batch]

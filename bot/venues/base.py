"""The contract every venue module fulfils: pure parsing and subscription plans, no I/O.

The websocket runner (``bot.ingest.feed``) and the replay command own all I/O; they drive a
``VenueSource`` through this interface only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from bot.domain import ParseResult
from bot.venues.poll import MarketSource, PollContext


@dataclass(frozen=True)
class ConnectionPlan:
    """One websocket connection: where to connect and what to send once connected.

    ``key`` identifies the connection across plan refreshes, so the runner restarts only
    the connections whose plan changed.
    """

    key: str
    url: str
    subscribe: tuple[str, ...] = ()


@dataclass
class RestResult:
    """Outcome of feeding one REST response body to a venue's state."""

    accepted: int = 0
    rejects: int = 0
    next_path: str | None = None  # pagination: fetch this path next, then feed it too
    sample: str | None = None


@dataclass(frozen=True)
class Heartbeat:
    """Keepalive and liveness rules for one venue's connections.

    ``text`` is sent every ``interval_s`` seconds (None: the venue needs nothing beyond
    websocket ping/pong frames, which aiohttp answers). The watchdog reconnects an open
    socket that has been silent for ``silence_limit_s``: counting only data messages when
    ``data_only`` (Binance's unrouted URL answers control requests but never sends data),
    any message otherwise. ``max_age_s`` is a planned reconnect before the venue's own
    forced cut (Binance closes every connection at 24 h).
    """

    text: str | None
    interval_s: float
    silence_limit_s: float
    data_only: bool = False
    max_age_s: float | None = None


class VenueSource(Protocol):
    """A venue adapter: state is only reference data (symbols, contract values)."""

    name: str
    heartbeat: Heartbeat

    def plans(self) -> list[ConnectionPlan]:
        """Connections to hold open now (may change after ``on_rest``)."""
        ...

    def parse(self, text: str) -> ParseResult:
        """Turn one websocket message into normalized events; never raises."""
        ...

    def rest_paths(self) -> list[str]:
        """REST paths (path and query) to poll for reference data, refreshed hourly."""
        ...

    def on_rest(self, path: str, body: str) -> RestResult:
        """Feed one REST response into the venue's reference data; never raises."""
        ...

    def ready(self) -> bool:
        """True when the reference data needed to subscribe/parse is present."""
        ...

    def coins(self) -> frozenset[str]:
        """Coins the venue's reference data lists (empty when it has none)."""
        ...

    def outgoing(self, key: str) -> list[str]:
        """Texts to send now on the open connection ``key`` beyond its plan's subscribe
        (Bybit: dropped topics to try again after a refresh); each is returned once."""
        ...

    def dropped_topics(self) -> frozenset[str]:
        """Subscribe topics the venue refused, so not collected (coverage is partial)."""
        ...


@dataclass(frozen=True)
class VenueInfo:
    """Everything the rest of the bot may know about one venue, declared by its module.

    ``name`` is the lower-case key used in events, storage, settings and the
    ``LIQWATCH_<NAME>_WS_URL`` / ``LIQWATCH_<NAME>_REST_URL`` variables; ``display`` is how
    texts show it. ``complete`` is True when the liquidation feed pushes every liquidation
    (False: the venue publishes a sample). ``ws_url`` and ``rest_url`` are the defaults of
    those variables; ``source`` builds the websocket adapter on a configured URL and
    ``market`` the funding / open-interest poll plan (``bot.venues.poll``).
    """

    name: str
    display: str
    complete: bool
    ws_url: str
    rest_url: str
    source: Callable[[str, Heartbeat | None], VenueSource]
    market: Callable[[PollContext], MarketSource]

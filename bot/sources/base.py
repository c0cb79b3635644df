"""The contract every venue module fulfils: pure parsing and subscription plans, no I/O.

The websocket runner (``bot.feed``) and the replay command own all I/O; they drive a
``VenueSource`` through this interface only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from bot.events import ParseResult


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
    """Application-level keepalive for one venue.

    ``text`` is sent every ``interval_s`` seconds (None: the venue needs none beyond
    websocket ping/pong frames). ``silence_limit_s`` is how long an open socket may stay
    without any message before the watchdog reconnects it; it must be far above the
    venue's normal gap between messages (including pongs to our own pings).
    """

    text: str | None
    interval_s: float
    silence_limit_s: float
    probe: str | None = None  # sent when silent for half the limit (Binance LIST_SUBSCRIPTIONS)
    extra: dict[str, str] = field(default_factory=dict)


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

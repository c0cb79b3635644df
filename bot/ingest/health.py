"""Per-venue feed health: counters, connection state and the periods the venue was down.

Pure bookkeeping with timestamps passed in; the websocket runner (``bot.ingest.feed``) updates it
and ``/status`` reads ``snapshot()``. A venue is *live* only while every connection it
should hold is up (Bybit spreads its symbols over several sockets: one of them down means
part of the market is unobserved).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

MAX_GAPS = 100  # keep /status bounded on a venue that flaps for weeks

Transition = Literal["up", "down"] | None


@dataclass
class SourceHealth:
    """Live counters for one venue.

    ``connected_since`` is when the venue last became live (None while it is not);
    ``gaps`` lists ``(start_ms, end_ms)`` periods the venue was not live, the last one
    open-ended (``end_ms`` None) while it is down, including the wait for the first
    connection after start-up. ``started_ms`` is when this process started collecting
    (None: unknown), so "no message yet" can say since when. ``dropped_topics`` are the
    subscribe topics the venue refused (Bybit): while any is left the venue's coverage is
    partial. ``data_only`` mirrors the venue's watchdog: only data proves the feed alive.
    """

    venue: str
    connected_since: int | None = None
    last_message_ms: int | None = None
    last_data_ms: int | None = None
    messages: int = 0
    events: int = 0
    rejects: int = 0
    reconnects: int = 0
    gaps: list[tuple[int, int | None]] = field(default_factory=list)
    last_error: str | None = None
    connections: dict[str, bool] = field(default_factory=dict)
    started_ms: int | None = None
    dropped_topics: set[str] = field(default_factory=set)
    data_only: bool = False
    # Start of the current outage: set when the venue stops being live, cleared only once
    # a connection proves alive by receiving something. A socket that connects and then
    # stays silent until the watchdog cuts it therefore continues the outage instead of
    # restarting its clock at every reconnect.
    _outage_since: int | None = field(default=None, repr=False)

    @property
    def live(self) -> bool:
        """True while the venue holds at least one connection and all of them are up."""
        return bool(self.connections) and all(self.connections.values())

    @property
    def down_since(self) -> int | None:
        """Start of the current gap, None while live."""
        if self.gaps and self.gaps[-1][1] is None:
            return self.gaps[-1][0]
        return None

    def outage_ms(self, now_ms: int) -> int | None:
        """How long the venue has been down (disconnected, or reconnected but silent) as of
        ``now_ms``; None while it is up and has shown life since its last outage."""
        since = self._outage_since
        if since is None and not self.live:
            since = self.down_since
        return None if since is None else max(0, now_ms - since)

    def expect(self, keys: Iterable[str], now_ms: int) -> Transition:
        """Set the connections the venue should hold; keeps the state of known keys."""
        wanted = list(keys)
        self.connections = {k: self.connections.get(k, False) for k in wanted}
        return self._settle(now_ms)

    def connection_up(self, key: str, now_ms: int) -> Transition:
        """Record that connection ``key`` is connected and subscribed."""
        if key in self.connections:
            self.connections[key] = True
        return self._settle(now_ms)

    def connection_down(self, key: str, now_ms: int, reason: str | None = None) -> Transition:
        """Record that connection ``key`` dropped (or failed to connect) and why."""
        if key in self.connections:
            self.connections[key] = False
        if reason is not None:
            self.last_error = reason
        return self._settle(now_ms)

    def message(self, now_ms: int) -> None:
        """Count one received message of any kind."""
        self.messages += 1
        self.last_message_ms = now_ms
        if not self.data_only:
            self._alive()

    def data(self, now_ms: int, events: int) -> None:
        """Count ``events`` liquidations delivered by one message."""
        self.events += events
        self.last_data_ms = now_ms
        self._alive()

    def reject(self, count: int) -> None:
        """Count malformed items the parser refused."""
        self.rejects += count

    def _alive(self) -> None:
        if self.live:
            self._outage_since = None

    def _settle(self, now_ms: int) -> Transition:
        live = self.live
        if live and self.connected_since is None:
            self.connected_since = now_ms
            if self.gaps and self.gaps[-1][1] is None:
                self.gaps[-1] = (self.gaps[-1][0], now_ms)
            return "up"
        if not live and self.down_since is None:
            was_live = self.connected_since is not None
            self.connected_since = None
            if self._outage_since is None:
                self._outage_since = now_ms
            self.gaps.append((now_ms, None))
            del self.gaps[:-MAX_GAPS]
            return "down" if was_live else None
        return None

    def snapshot(self) -> dict[str, Any]:
        """A JSON-ready view for ``/status`` (plain ints, strings, lists)."""
        return {
            "venue": self.venue,
            "live": self.live,
            "connected_since": self.connected_since,
            "down_since": self.down_since,
            "last_message_ms": self.last_message_ms,
            "last_data_ms": self.last_data_ms,
            "messages": self.messages,
            "events": self.events,
            "rejects": self.rejects,
            "reconnects": self.reconnects,
            "gaps": [[start, end] for start, end in self.gaps],
            "last_error": self.last_error,
            "connections": dict(self.connections),
            "started_ms": self.started_ms,
            "dropped_topics": len(self.dropped_topics),
        }

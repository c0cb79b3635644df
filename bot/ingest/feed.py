"""The one websocket runner: holds every connection a venue plans, forever.

Per ``ConnectionPlan`` one task connects (aiohttp, transport heartbeat, autoping so venue
pings are answered), sends the subscribe messages, sends the venue's application-level
heartbeat text, and reads. Each text goes to ``source.parse``; events go to the sink.
A liveness watchdog reconnects a socket that stays open but silent (a quiet market and a
dead or mis-routed socket look identical otherwise), and Binance's 24 h cut is taken
early as a planned reconnect. Failures reconnect with capped, fully jittered exponential
backoff and one log line per attempt; only ``CancelledError`` ends a connection task.
The backoff grows only while sessions keep failing: one that delivered data (or stayed
up and answered long enough) starts the next wait from the base again. Replies the
parser asks for (``ParseResult.replies``) and texts the source queues for a connection
(``VenueSource.outgoing``, checked at each heartbeat) are sent on that connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import aiohttp

from bot.clock import now_ms
from bot.domain import Liquidation, ParseResult
from bot.ingest.backoff import FEED_BACKOFF, Backoff, BackoffPolicy
from bot.ingest.health import SourceHealth, Transition
from bot.ingest.uptime import UptimeRecorder, UptimeWriter
from bot.venues.base import ConnectionPlan, Heartbeat, VenueSource

log = logging.getLogger(__name__)

Sink = Callable[[list[Liquidation]], None]

# What a network, a venue or a proxy can do to us; anything else is a bug and is raised.
NETWORK_ERRORS: tuple[type[BaseException], ...] = (aiohttp.ClientError, TimeoutError, OSError)

_KIND = re.compile(r"[A-Za-z _-]{1,80}")
_CLOSED_TYPES = (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.CLOSED)


def describe(exc: BaseException) -> str:
    """One line for an expected network error, without a traceback."""
    text = str(exc).strip()
    if isinstance(exc, aiohttp.WSServerHandshakeError):
        return f"handshake refused: HTTP {exc.status}"
    if not text:
        return type(exc).__name__
    return text.splitlines()[0][:200]


@dataclass(frozen=True)
class FeedTiming:
    """Transport timings; production defaults, shortened by tests.

    ``ws_heartbeat_s``: aiohttp pings this often and treats a missing pong as a dead
    socket (half-open TCP on a quiet stream). ``uptime_extend_s``: how often the open
    uptime interval is pushed forward.
    """

    ws_heartbeat_s: float = 25.0
    connect_timeout_s: float = 15.0
    close_timeout_s: float = 3.0
    uptime_extend_s: float = 30.0
    backoff: BackoffPolicy = field(default=FEED_BACKOFF)


@dataclass(frozen=True)
class _Outcome:
    """Why a connected session ended."""

    reason: str
    silent: bool = False
    planned: bool = False


@dataclass
class _Session:
    """What one connected session delivered (kept even when it ends in an exception)."""

    events: int = 0


class FeedRunner:
    """Keeps all of one venue's planned websocket connections up and feeds the sink.

    ``heartbeat`` overrides ``source.heartbeat`` (tests shorten it). ``clock`` returns
    wall-clock ms for health and uptime; deadlines use the loop's monotonic clock.
    Call ``refresh()`` after reference data changed: only connections whose plan changed
    are restarted, removed ones stopped, new ones started. Nothing connects while
    ``source.ready()`` is False.
    """

    def __init__(
        self,
        source: VenueSource,
        session: aiohttp.ClientSession,
        sink: Sink,
        health: SourceHealth,
        uptime: UptimeRecorder | None = None,
        clock: Callable[[], int] = now_ms,
        rng: random.Random | None = None,
        *,
        heartbeat: Heartbeat | None = None,
        timing: FeedTiming | None = None,
    ) -> None:
        self.source = source
        self.health = health
        self.heartbeat = heartbeat or source.heartbeat
        self.timing = timing or FeedTiming()
        self._session = session
        self._sink = sink
        self._clock = clock
        self._rng = rng or random.Random()
        self._uptime = (
            UptimeWriter(uptime, source.name, self.timing.uptime_extend_s, clock)
            if uptime is not None
            else None
        )
        self._plans: dict[str, ConnectionPlan] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        # Cancelled connections still closing, so a restart waits for its predecessor.
        self._retiring: dict[str, asyncio.Task[None]] = {}
        self._running = False
        self._logged_kinds: set[str] = set()

    @property
    def venue(self) -> str:
        """The venue this runner serves."""
        return self.source.name

    @property
    def plans(self) -> dict[str, ConnectionPlan]:
        """The plans currently held, by key."""
        return dict(self._plans)

    async def run(self) -> None:
        """Hold the connections until cancelled; on the way out close them and uptime."""
        self._running = True
        if self._uptime is not None:
            self._uptime.start()
        self.refresh()
        try:
            await asyncio.Event().wait()  # connection tasks do the work; wait for cancel
        finally:
            self._running = False
            tasks = [*self._tasks.values(), *self._retiring.values()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._tasks.clear()
            if self._uptime is not None:
                await self._uptime.aclose()

    def refresh(self) -> None:
        """Reconcile running connections with ``source.plans()`` (no-op before ``run``)."""
        if not self._running:
            return
        wanted = {p.key: p for p in self.source.plans()} if self.source.ready() else {}
        now = self._clock()
        for key, old in list(self._plans.items()):
            if wanted.get(key) == old:
                continue
            task = self._tasks.pop(key)
            task.cancel()
            self._retiring[key] = task
            task.add_done_callback(functools.partial(self._retired, key))
            del self._plans[key]
            self._apply(self.health.connection_down(key, now), now)
            if key in wanted:
                log.info("%s: plan for %s changed; reconnecting it", self.venue, key)
        self._apply(self.health.expect(wanted, now), now)
        self._sync_dropped()
        for key, plan in wanted.items():
            if key in self._plans:
                continue
            self._plans[key] = plan
            self._tasks[key] = asyncio.get_running_loop().create_task(
                self._hold(plan, self._label(plan, len(wanted)), self._retiring.get(key)),
                name=f"feed:{self.venue}:{key}",
            )

    def _retired(self, key: str, task: asyncio.Task[None]) -> None:
        if self._retiring.get(key) is task:
            del self._retiring[key]

    def _label(self, plan: ConnectionPlan, count: int) -> str:
        return self.venue if count == 1 or plan.key == self.venue else f"{self.venue}/{plan.key}"

    def _apply(self, transition: Transition, now_ms: int) -> None:
        if self._uptime is None or transition is None:
            return
        if transition == "up":
            self._uptime.opened(now_ms)
        else:
            self._uptime.closed(now_ms)

    async def _hold(
        self, plan: ConnectionPlan, label: str, previous: asyncio.Task[None] | None
    ) -> None:
        """Connect, serve, reconnect, forever (until cancelled)."""
        if previous is not None:
            # A restarted plan must not come up before its predecessor has gone down.
            await asyncio.wait([previous])
        loop = asyncio.get_running_loop()
        backoff = Backoff(self.timing.backoff, self._rng)
        connected_before = False
        while True:
            try:
                ws = await self._connect(plan)
            except NETWORK_ERRORS as exc:
                reason = f"connect failed ({describe(exc)})"
                now = self._clock()
                self._apply(self.health.connection_down(plan.key, now, reason), now)
                delay = backoff.next_delay()
                log.warning("%s: %s: retrying in %.1f s", label, reason, delay)
                await asyncio.sleep(delay)
                continue
            if connected_before:
                self.health.reconnects += 1
            connected_before = True
            started = loop.time()
            now = self._clock()
            self._apply(self.health.connection_up(plan.key, now), now)
            log.info("%s: connected to %s", label, plan.url)
            outcome: _Outcome | None = None  # stays None when cancelled (shutdown, new plan)
            session = _Session()
            try:
                outcome = await self._serve(ws, plan.key, session)
            except NETWORK_ERRORS as exc:
                outcome = _Outcome(f"connection lost ({describe(exc)})")
            finally:
                with contextlib.suppress(*NETWORK_ERRORS):
                    await ws.close()
                now = self._clock()
                why = outcome.reason if outcome else None
                self._apply(self.health.connection_down(plan.key, now, why), now)
            reason = outcome.reason
            if outcome.planned or self._proven(outcome, session, loop.time() - started):
                backoff.reset()
            if outcome.planned:
                log.info("%s: %s; reconnecting now", label, reason)
                continue
            delay = backoff.next_delay()
            log.warning("%s: %s; reconnecting in %.1f s", label, reason, delay)
            await asyncio.sleep(delay)

    def _proven(self, outcome: _Outcome, session: _Session, stayed_s: float) -> bool:
        """Whether a session that ended earns a fresh backoff: it delivered data and
        lasted ``proven_s``, or it stayed up ``healthy_s`` without the watchdog cutting it
        (quiet markets). A server that accepts and drops us at once earns neither, so the
        delay keeps growing instead of hammering it."""
        policy = self.timing.backoff
        if session.events and stayed_s >= policy.proven_s:
            return True
        return not outcome.silent and stayed_s >= policy.healthy_s

    async def _connect(self, plan: ConnectionPlan) -> aiohttp.ClientWebSocketResponse:
        async with asyncio.timeout(self.timing.connect_timeout_s):
            ws = await self._session.ws_connect(
                plan.url,
                heartbeat=self.timing.ws_heartbeat_s,
                autoping=True,
                timeout=aiohttp.ClientWSTimeout(ws_close=self.timing.close_timeout_s),
            )
            try:
                for text in plan.subscribe:
                    await ws.send_str(text)
            except BaseException:
                with contextlib.suppress(*NETWORK_ERRORS):
                    await ws.close()
                raise
        return ws

    async def _serve(
        self, ws: aiohttp.ClientWebSocketResponse, key: str, session: _Session
    ) -> _Outcome:
        """Read until the socket ends, goes silent or reaches its planned age."""
        hb = self.heartbeat
        loop = asyncio.get_running_loop()
        opened = loop.time()
        alive_at = opened
        next_ping = opened + hb.interval_s if hb.text is not None else float("inf")
        retire_at = opened + hb.max_age_s if hb.max_age_s else float("inf")
        while True:
            now = loop.time()
            if now - alive_at >= hb.silence_limit_s:
                quiet = _secs(now - alive_at)
                return _Outcome(f"socket open but silent for {quiet} s", silent=True)
            if now >= retire_at:
                return _Outcome(f"planned reconnect after {_secs(now - opened)} s", planned=True)
            if hb.text is not None and now >= next_ping:
                await ws.send_str(hb.text)
                for queued in self.source.outgoing(key):
                    await ws.send_str(queued)
                next_ping = now + hb.interval_s
                continue
            wait = min(alive_at + hb.silence_limit_s, retire_at, next_ping) - now
            try:
                # receive(0) would mean "no timeout" to aiohttp: keep the wait positive.
                msg = await ws.receive(timeout=max(wait, 0.001))
            except TimeoutError:
                continue
            if msg.type is aiohttp.WSMsgType.TEXT:
                text: str = msg.data
            elif msg.type is aiohttp.WSMsgType.BINARY:
                text = bytes(msg.data).decode("utf-8", errors="replace")
            elif msg.type is aiohttp.WSMsgType.ERROR:
                error = msg.data if isinstance(msg.data, BaseException) else ws.exception()
                return _Outcome(f"socket error ({describe(error) if error else 'unknown'})")
            elif msg.type in _CLOSED_TYPES:
                return _Outcome(f"closed by server (code {ws.close_code})")
            else:
                continue
            result = self._handle(text)
            if result is None:
                continue
            for reply in result.replies:
                await ws.send_str(reply)
            if result.events:
                session.events += len(result.events)
                alive_at = loop.time()
            elif not hb.data_only:
                alive_at = loop.time()

    def _handle(self, text: str) -> ParseResult | None:
        """Parse one message, feed the sink, count; None when the parser crashed."""
        now = self._clock()
        self.health.message(now)
        try:
            result = self.source.parse(text)
        except Exception:  # parse() promises never to raise; a bug must not stop the feed
            self.health.reject(1)
            if self._first("parser crashed"):
                log.exception("%s: parser crashed on %.200r", self.venue, text)
            return None
        if result.rejects:
            self.health.reject(result.rejects)
            sample = result.sample or "unknown"
            if self._first(_reason_kind(sample)):
                log.debug("%s: rejected %d item(s): %s", self.venue, result.rejects, sample)
        if result.notice:
            log.warning("%s: venue says: %s", self.venue, result.notice)
        if result.control:
            self._sync_dropped()  # subscribe replies may have dropped or restored topics
        if not result.events:
            return result
        self.health.data(now, len(result.events))
        try:
            self._sink(result.events)
        except Exception as exc:  # a sink bug: say it once per kind, keep the socket alive
            if self._first(f"sink {type(exc).__name__}"):
                log.exception("%s: sink failed; %d events dropped", self.venue, len(result.events))
        return result

    def _sync_dropped(self) -> None:
        dropped = self.source.dropped_topics()
        if dropped != self.health.dropped_topics:
            self.health.dropped_topics = set(dropped)

    def _first(self, kind: str) -> bool:
        if kind in self._logged_kinds:
            return False
        self._logged_kinds.add(kind)
        return True


def _reason_kind(sample: str) -> str:
    """The wording of a reject reason without its details ("bad side 'X'" -> "bad side")."""
    match = _KIND.match(sample)
    return match.group(0).strip() if match and match.group(0).strip() else sample[:40]


def _secs(seconds: float) -> str:
    return f"{seconds:.1f}" if seconds < 10 else f"{seconds:.0f}"

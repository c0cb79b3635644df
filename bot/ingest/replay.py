"""Replaying a recorded feed (JSON Lines) through the real parsers into the database.

Each line is ``{"venue", "recv_ms", "ws": <message text>}`` or ``{"venue", "recv_ms",
"rest": <path and query>, "body": <response text>}``. Websocket messages go through
``source.parse`` exactly as the live runner would; REST lines feed ``source.on_rest``
(instrument lists, contract values). A broken line is counted and skipped, never fatal.
Each venue is marked as up from its first to its last recorded line.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from sqlite_utils import Database

from bot.domain import ParseResult
from bot.ingest.ingestor import Ingestor
from bot.venues.base import VenueSource
from storage.db import DbThread
from storage.uptime import close_interval, extend_intervals, open_interval

log = logging.getLogger(__name__)

_loads = orjson.loads
# The replay loop reads the clock once per this many lines rather than on every line; at
# replay speed that is well under a millisecond between reads.
_CLOCK_EVERY = 64


@dataclass(slots=True)
class ReplayStats:
    """What a replay read and did; ``spans`` maps venue -> (first, last) recv_ms."""

    lines: int = 0
    ws_messages: int = 0
    rest_lines: int = 0
    events: int = 0
    rejects: int = 0
    control: int = 0
    notices: int = 0
    malformed: int = 0
    skipped: int = 0
    committed: int = 0
    elapsed_s: float = 0.0
    spans: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def events_per_s(self) -> float:
        """Committed events per second of wall time."""
        return self.committed / self.elapsed_s if self.elapsed_s > 0 else 0.0


class _Store:
    """Database access for a replay: through the DB thread, or inline on ``db``."""

    def __init__(self, ingestor: Ingestor, db: Database | None) -> None:
        if db is None and ingestor.dbt is None:
            raise ValueError("replay needs the ingestor's DbThread or an explicit db")
        self.ingestor = ingestor
        self.db = db

    async def _db(self, fn: Any, *args: Any) -> Any:
        if self.db is not None:
            return fn(self.db, *args)
        dbt: DbThread | None = self.ingestor.dbt
        assert dbt is not None
        return await dbt.run(fn, *args)

    async def flush(self) -> int:
        if self.db is not None:
            return self.ingestor.flush_sync(self.db)
        return await self.ingestor.flush()

    async def open(self, venue: str, start_ms: int) -> int:
        return int(await self._db(open_interval, venue, start_ms))

    async def extend(self, interval_id: int, now_ms: int) -> None:
        await self._db(extend_intervals, [interval_id], now_ms)

    async def close(self, interval_id: int, end_ms: int) -> None:
        await self._db(close_interval, interval_id, end_ms)


class _Replayer:
    def __init__(
        self,
        sources: Mapping[str, VenueSource],
        ingestor: Ingestor,
        store: _Store,
        speed: float,
        flush_every_s: float,
        max_batch: int,
    ) -> None:
        self.sources = sources
        self.ingestor = ingestor
        self.store = store
        self.speed = speed
        self.flush_every_s = flush_every_s
        self.max_batch = max_batch
        self.stats = ReplayStats()
        self.intervals: dict[str, int] = {}
        self.next_flush = time.monotonic() + flush_every_s
        self.origin: tuple[int, float] | None = None  # (recv_ms, monotonic) of line one

    def decode(
        self, line: str | bytes
    ) -> tuple[str, int, str | None, dict[str, Any] | None] | None:
        """Split a line into (venue, recv_ms, ws text, record); None (counted) if unusable.

        orjson decodes the usual line; a line it refuses, or whose venue or recv_ms it
        reads differently (an integer beyond 64 bits), goes through ``json.loads``, so the
        outcome is always what ``json.loads`` gives.
        """
        try:
            record = _loads(line)
            venue = record["venue"]
            recv_ms = record["recv_ms"]
            if type(recv_ms) is not int or type(venue) is not str:
                raise TypeError("venue/recv_ms")
        except (ValueError, TypeError, KeyError):
            try:
                text = line.decode("utf-8") if isinstance(line, bytes) else line
                record = json.loads(text)
                venue = record["venue"]
                recv_ms = record["recv_ms"]
                if type(recv_ms) is not int or not isinstance(venue, str):
                    raise TypeError("venue/recv_ms")
            except (ValueError, TypeError, KeyError, RecursionError):
                self.stats.malformed += 1
                return None
        if venue not in self.sources:
            self.stats.skipped += 1
            return None
        ws = record.get("ws")
        return venue, recv_ms, ws if type(ws) is str else None, record

    def feed(self, venue: str, ws: str | None, record: dict[str, Any] | None) -> bool:
        """Hand one decoded line to its venue; False (counted) if it carries nothing."""
        stats = self.stats
        source = self.sources[venue]
        try:
            if ws is not None:
                self.count(venue, source.parse(ws))
            elif (
                record is not None
                and type(path := record.get("rest")) is str
                and type(body := record.get("body")) is str
            ):
                stats.rest_lines += 1
                stats.rejects += source.on_rest(path, body).rejects
            else:
                stats.malformed += 1
                return False
        except Exception:
            # The VenueSource contract says parsers never raise; a replay still must not die.
            stats.malformed += 1
            log.exception("%s parser raised on replay line %d", venue, stats.lines)
            return False
        return True

    def count(self, venue: str, result: ParseResult) -> None:
        """Account for one parsed websocket message and buffer its events."""
        stats = self.stats
        stats.ws_messages += 1
        if result.events:
            stats.events += len(result.events)
            self.ingestor.add(result.events)
        if result.rejects:
            stats.rejects += result.rejects
        if result.control:
            stats.control += 1
        if result.notice is not None:
            stats.notices += 1
            log.warning("%s notice in replay: %s", venue, result.notice)

    async def mark(self, venue: str, recv_ms: int) -> None:
        """Stretch ``venue``'s span to ``recv_ms``, opening its uptime interval at first."""
        span = self.stats.spans.get(venue)
        if span is None:
            self.stats.spans[venue] = (recv_ms, recv_ms)
            self.intervals[venue] = await self.store.open(venue, recv_ms)
        elif recv_ms > span[1]:
            self.stats.spans[venue] = (span[0], recv_ms)

    async def flush(self) -> None:
        await self.store.flush()
        for venue, interval_id in self.intervals.items():
            await self.store.extend(interval_id, self.stats.spans[venue][1])
        self.next_flush = time.monotonic() + self.flush_every_s

    async def pace(self, recv_ms: int) -> None:
        """Sleep until ``recv_ms`` is due at ``speed``x, flushing on schedule meanwhile."""
        if self.origin is None:
            self.origin = (recv_ms, time.monotonic())
            return
        due = self.origin[1] + (recv_ms - self.origin[0]) / 1000.0 / self.speed
        while (now := time.monotonic()) < due:
            if self.ingestor.pending and now >= self.next_flush:
                await self.flush()
                continue
            wake = min(due, self.next_flush) if self.ingestor.pending else due
            await asyncio.sleep(max(wake - now, 0.0))

    async def run(self, path: Path) -> ReplayStats:
        started = time.perf_counter()
        stats = self.stats
        ingestor = self.ingestor
        committed_before = ingestor.stats.events
        spans = stats.spans
        parsers = {venue: source.parse for venue, source in self.sources.items()}
        paced = self.speed > 0
        clock = 0
        # Bytes, not text: orjson reads UTF-8 itself, sparing a decode of every line.
        with path.open("rb") as lines:
            for line in lines:
                if line.isspace():
                    continue
                stats.lines += 1
                # Fast path, the websocket line: anything unusual (REST lines, unknown
                # venues, malformed lines, rejects, notices) goes through decode/feed.
                try:
                    record = _loads(line)
                    venue = record["venue"]
                    recv_ms = record["recv_ms"]
                    ws = record["ws"]
                    parse = parsers[venue]
                    if type(recv_ms) is not int or type(ws) is not str:
                        raise TypeError("recv_ms/ws")
                except (ValueError, TypeError, KeyError):
                    decoded = self.decode(line)
                    if decoded is None:
                        continue
                    venue, recv_ms, ws, rec = decoded
                    parse = None
                if paced:
                    await self.pace(recv_ms)
                # Any line that names its venue and time proves the feed was up then.
                span = spans.get(venue)
                if span is None:
                    await self.mark(venue, recv_ms)
                elif recv_ms > span[1]:
                    spans[venue] = (span[0], recv_ms)
                if parse is None:
                    self.feed(venue, ws, rec)
                else:
                    try:
                        result = parse(ws)
                    except Exception:
                        self.feed(venue, ws, None)  # counts and logs the parser's failure
                    else:
                        events = result.events
                        if result.rejects or result.notice is not None or not events:
                            self.count(venue, result)
                        else:  # count() for the usual message, without the call
                            stats.ws_messages += 1
                            stats.events += len(events)
                            ingestor.add(events)
                clock += 1
                if ingestor.pending >= self.max_batch or (
                    clock >= _CLOCK_EVERY and time.monotonic() >= self.next_flush
                ):
                    await self.flush()
                    clock = 0
                elif clock >= _CLOCK_EVERY:
                    clock = 0
        await self.flush()
        for venue, interval_id in self.intervals.items():
            await self.store.close(interval_id, self.stats.spans[venue][1])
        self.stats.committed = self.ingestor.stats.events - committed_before
        self.stats.elapsed_s = time.perf_counter() - started
        return self.stats


async def replay(
    path: str | Path,
    sources: Mapping[str, VenueSource],
    ingestor: Ingestor,
    speed: float = 0.0,
    *,
    db: Database | None = None,
    flush_every_s: float = 1.0,
    max_batch: int = 20_000,
) -> ReplayStats:
    """Feed the replay file at ``path`` through ``sources`` into ``ingestor``.

    ``speed`` 0 runs as fast as possible; X > 0 reproduces the recorded recv_ms spacing
    divided by X. Commits happen through the ingestor's DbThread, or inline on ``db``
    when given (CLI and benchmark: one thread, no hops). The buffer is flushed at least
    every ``flush_every_s`` of wall time, every ``max_batch`` events and at the end.
    """
    if speed < 0:
        raise ValueError("speed must be >= 0")
    replayer = _Replayer(sources, ingestor, _Store(ingestor, db), speed, flush_every_s, max_batch)
    return await replayer.run(Path(path))

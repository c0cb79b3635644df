"""What every delivery channel provides, and the dispatcher that routes outbox rows to them.

A channel renders an outbox row's notice when it delivers it (never earlier) and sends under
its own limits. Each row names its channel (``OutboxRow.channel``) and, for channels not
addressed by chat id, its ``address``; the dispatcher hands every pushed row to the channel
it names. Assumption: a row naming no registered channel cannot become sendable in this run,
so it is failed at once (one log line, the reason stored) rather than left pending.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import replace
from typing import Protocol

from storage import outbox
from storage.db import DbThread
from storage.outbox import FAILED, OutboxRow

log = logging.getLogger(__name__)


class Channel(Protocol):
    """One way out (Telegram, the console, later webhook and Discord)."""

    @property
    def name(self) -> str:
        """The ``channel`` value of the outbox rows it delivers."""

    def render(self, row: OutboxRow) -> str:
        """The row's notice in this channel's format, made now (at send time)."""

    def push(self, rows: Iterable[OutboxRow]) -> None:
        """Accept stored rows; deliver them under the channel's own limits."""

    async def start(self) -> object:
        """Begin delivering (resending what a previous run left unfinished, if it keeps any)."""

    async def stop(self) -> None:
        """Stop delivering; rows not yet delivered stay in the outbox."""


class Dispatcher:
    """The pipeline's outlet: routes each pushed row to the channel its ``channel`` names.

    ``start``/``stop`` start and stop every channel (stopped in reverse order). Rows for an
    unknown channel are marked failed in the outbox (written off the push path).
    """

    def __init__(self, channels: Iterable[Channel], dbt: DbThread) -> None:
        self.channels: dict[str, Channel] = {}
        for channel in channels:
            if channel.name in self.channels:
                raise ValueError(f"two channels named {channel.name!r}")
            self.channels[channel.name] = channel
        self._dbt = dbt
        self._writes: set[asyncio.Task[None]] = set()
        self.unrouted = 0  # rows failed for naming no channel, since start

    def push(self, rows: Iterable[OutboxRow]) -> None:
        """Hand each row to its channel (in order, one batch per channel)."""
        batches: dict[str, list[OutboxRow]] = {}
        for row in rows:
            batches.setdefault(row.channel, []).append(row)
        for name, batch in batches.items():
            channel = self.channels.get(name)
            if channel is None:
                self._unroutable(name, batch)
            else:
                channel.push(batch)

    async def start(self) -> None:
        """Start every channel."""
        for channel in self.channels.values():
            await channel.start()

    async def stop(self) -> None:
        """Stop every channel, last first, and finish writing failed rows."""
        for channel in reversed(list(self.channels.values())):
            await channel.stop()
        await self.drain()

    async def drain(self) -> None:
        """Wait until every unroutable row's failure is written."""
        while self._writes:
            await asyncio.gather(*list(self._writes), return_exceptions=True)

    def _unroutable(self, name: str, rows: list[OutboxRow]) -> None:
        self.unrouted += len(rows)
        reason = f"no channel named {name!r}"
        log.warning("%d outbox message(s) not delivered: %s", len(rows), reason)
        failed = [replace(r, status=FAILED, reason=reason) for r in rows if not r.finished]
        if failed:
            task = asyncio.get_running_loop().create_task(self._write(failed))
            self._writes.add(task)
            task.add_done_callback(self._writes.discard)

    async def _write(self, rows: list[OutboxRow]) -> None:
        try:
            await self._dbt.run(outbox.update, rows)
        except Exception as exc:  # the database is failing: one line; rows stay pending
            log.warning("recording %d failed outbox row(s) failed (%s)", len(rows), exc)

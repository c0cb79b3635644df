"""``Sender``: the one outbound queue and sender task for every message the bot starts.

Telegram's limits (Bots FAQ): about 30 messages a second overall, one a second per private
chat, 20 a minute per group. The sender paces itself under them (``send_queue``), so
a 2,000-chat fan-out streams at ~29 msg/s without a single 429; ``RetryAfter`` is still
honoured (wait, then resend the same message, pausing everything), because the exact
limits are unpublished. Each message is an outbox row; its status changes are written
back in batches off the send path, and a start resends every row left unfinished.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Protocol

from telegram import Bot, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from bot.alerts.notice import NoticeError
from bot.clock import now_ms
from bot.ingest.backoff import Backoff
from bot.notify.telegram.policy import RetryPolicy, SenderStats, retry_after_seconds
from bot.notify.telegram.render import HtmlRenderer
from bot.notify.telegram.request import describe
from bot.notify.telegram.send_queue import ChatQueue, Pacing, SendQueue
from storage import outbox
from storage.db import DbThread
from storage.outbox import FAILED, PENDING, SENDING, SENT, TELEGRAM, NewMessage, OutboxRow

__all__ = ["ChatLifecycle", "RetryPolicy", "Sender", "SenderStats", "retry_after_seconds"]

log = logging.getLogger(__name__)

_NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
_DONE_MEMORY = 100_000


class ChatLifecycle(Protocol):
    """Where the sender reports chats it can no longer write to as they were
    (``chats.ChatService``: it updates storage, then tells the alert engine)."""

    async def deactivate(self, chat_id: int) -> bool:
        """The chat blocked or removed the bot, or no longer exists."""

    async def migrate(self, old_id: int, new_id: int) -> bool:
        """A group became a supergroup with a new id: move its settings and rules."""


class Sender:
    """Paces, sends and retries outbox rows through ``bot.send_message`` (HTML).

    ``await start()`` resends unfinished rows and starts the task; ``push(rows)`` queues
    rows already stored (the alert engine's), ``await submit(chat_id, text)`` stores and
    queues one; ``await drain()`` waits until everything queued is finished and recorded;
    ``await stop()`` ends the task (rows still queued stay in the outbox for next start).
    A ``bot.notify.base.Channel``: rows whose ``channel`` is ``telegram``.
    """

    name: str = TELEGRAM

    def __init__(
        self,
        bot: Bot,
        dbt: DbThread,
        *,
        chats: ChatLifecycle | None = None,
        pacing: Pacing | None = None,
        retry: RetryPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
        now_ms: Callable[[], int] = now_ms,
        rng: random.Random | None = None,
    ) -> None:
        self._bot = bot
        self._dbt = dbt
        self._chat_events = chats
        self.retry = retry or RetryPolicy()
        self._clock = clock
        self._now_ms = now_ms
        self._rng = rng or random.Random()
        self.stats = SenderStats()
        self._queue = SendQueue(pacing)
        self._known: set[int] = set()  # outbox ids queued or in flight
        # Ids finished lately (insertion-ordered, bounded): a row pushed again after it was
        # sent is not sent twice.
        self._done: dict[int, None] = {}
        self._html = HtmlRenderer()
        self._transient: dict[int, int] = {}  # row id -> its network/5xx failures (in flight)
        self._in_flight: set[asyncio.Task[None]] = set()
        self._unsaved: dict[int, OutboxRow] = {}
        self._saving = False
        self._wake = asyncio.Event()
        self._save_wake = asyncio.Event()
        self._progress = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False

    # ----- public ---------------------------------------------------------------------------

    async def start(self) -> int:
        """Queue the rows a previous run left pending or sending, start the sender task;
        returns how many rows were recovered."""
        rows = [r for r in await self._dbt.run(outbox.unfinished) if r.channel == self.name]
        now_ms, now = self._now_ms(), self._clock()
        for row in rows:
            if row.next_try_ms > now_ms:
                chat = self._queue.chat(row.chat_id)
                self._queue.delay(chat, now + (row.next_try_ms - now_ms) / 1000)
        # Rows the alert engine pushed before the start (Telegram not yet up) are queued
        # already: only the others are left over from a previous run.
        recovered = [r for r in rows if r.id not in self._known]
        self.push(rows)
        self.stats.recovered += len(recovered)
        if recovered:
            log.info("outbox: %d unfinished message(s) from a previous run queued", len(recovered))
        rows = recovered
        self._stopping = False
        self._tasks = [
            asyncio.create_task(self._run(), name="liqwatch-sender"),
            asyncio.create_task(self._write(), name="liqwatch-outbox-writer"),
        ]
        return len(rows)

    def push(self, rows: Iterable[OutboxRow]) -> None:
        """Queue stored, unfinished rows (ids already queued, and rows for another channel,
        are ignored)."""
        for row in rows:
            if row.id in self._known or row.id in self._done or row.finished:
                continue
            if row.channel != self.name:
                continue
            self._known.add(row.id)
            self._queue.add(row)
        self._wake.set()

    async def submit(self, chat_id: int, text: str, kind: str = "notice") -> OutboxRow:
        """Store one message in the outbox and queue it."""
        (row,) = await self._dbt.run(outbox.add, [NewMessage(chat_id, text, kind)], self._now_ms())
        self.push([row])
        return row

    def render(self, row: OutboxRow) -> str:
        """The row's HTML, rendered now (each notice of a fan-out once)."""
        return self._html.render(row)

    @property
    def pacing(self) -> Pacing:
        """The send rates in force."""
        return self._queue.pacing

    @property
    def queued(self) -> int:
        """Messages waiting (retries included), not counting those in flight."""
        return self._queue.queued

    @property
    def in_flight(self) -> int:
        """Requests currently waiting for Telegram."""
        return len(self._in_flight)

    def idle(self) -> bool:
        """Nothing queued, nothing in flight, every status change written."""
        return not (self._in_flight or self._unsaved or self._saving or self.queued)

    async def drain(self) -> None:
        """Wait until :meth:`idle` (bound it with ``asyncio.timeout``)."""
        while not self.idle():
            self._progress.clear()
            await self._progress.wait()

    async def stop(self, grace_s: float = 5.0) -> None:
        """Stop dispatching, let requests in flight finish (up to ``grace_s``), write every
        status change. Rows still queued stay pending in the outbox."""
        self._stopping = True
        self._wake.set()
        if self._in_flight:
            _, late = await asyncio.wait(set(self._in_flight), timeout=grace_s)
            for task in late:  # their rows stay 'sending': resent at the next start
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        run, writer = self._tasks or (None, None)
        self._tasks = []
        if run is not None and writer is not None:
            run.cancel()
            self._save_wake.set()  # the writer finishes its batches, then returns
            await asyncio.gather(run, writer, return_exceptions=True)
        if self._unsaved:
            rows, self._unsaved = list(self._unsaved.values()), {}
            await self._dbt.run(outbox.update, rows)

    # ----- pacing and dispatch --------------------------------------------------------------

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            delay = self._dispatch_ready()
            if self._stopping:
                break
            try:
                async with asyncio.timeout(delay):
                    await self._wake.wait()
            except TimeoutError:
                pass

    def _dispatch_ready(self) -> float | None:
        """Send what may go now; returns seconds until something else may (None: wait for
        a push or an answer)."""
        while True:
            got = self._queue.take(self._clock(), len(self._in_flight))
            if not isinstance(got, tuple):
                return got
            chat, row = got
            row = replace(row, status=SENDING, attempts=row.attempts + 1)
            self._record(row)
            task = asyncio.create_task(self._send(chat, row))
            self._in_flight.add(task)
            task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        self._wake.set()
        self._progress.set()

    # ----- one request and its outcome ------------------------------------------------------

    async def _send(self, chat: ChatQueue, row: OutboxRow) -> None:
        try:
            await self._bot.send_message(
                chat_id=row.chat_id,
                text=self.render(row),  # the notice rendered now, just before sending
                parse_mode=ParseMode.HTML,
                link_preview_options=_NO_PREVIEW,
                read_timeout=self.retry.read_timeout_s,
            )
        except RetryAfter as exc:
            self._flood(chat, row, exc)
        except ChatMigrated as exc:
            await self._migrated(chat, row, int(exc.new_chat_id))
        except Forbidden as exc:
            await self._gone(chat, row, self._scrub(exc.message))
        except BadRequest as exc:
            reason = self._scrub(exc.message)
            if "chat not found" in reason.lower():
                await self._gone(chat, row, reason)
            else:
                self._fail(row, f"bad request: {reason}")
        except TimedOut as exc:  # no answer in time: Telegram may have delivered it
            self.stats.timed_out += 1
            self._retry_later(chat, row, self._describe(exc), self.retry.timed_out_wait_s)
        except NetworkError as exc:  # connection errors, 5xx (HTML error pages too)
            self._retry_later(chat, row, self._describe(exc))
        except TelegramError as exc:  # InvalidToken, Conflict, ...: retrying cannot help
            self._fail(row, self._describe(exc))
        except NoticeError as exc:  # a stored notice this version cannot read: never sendable
            self._fail(row, str(exc))
        except Exception as exc:  # a bug must not kill the sender or lose the row silently
            log.exception("sending outbox message %d failed unexpectedly", row.id)
            self._fail(row, f"{type(exc).__name__}: {self._scrub(str(exc))}")
        else:
            self.stats.sent += 1
            self._forget(row.id)
            self._record(replace(row, status=SENT, sent_ms=self._now_ms(), reason=None))
        finally:
            self._queue.done(chat, self._clock())

    def _flood(self, chat: ChatQueue, row: OutboxRow, exc: RetryAfter) -> None:
        """429: pause every send for ``retry_after``, then send the same message again."""
        wait = retry_after_seconds(exc)
        self.stats.retry_after += 1
        self._queue.pause(self._clock() + wait + self.retry.retry_after_margin_s)
        log.warning("flood control: Telegram asked to wait %.1f s; all sends paused", wait)
        self._requeue(chat, replace(row, status=PENDING, reason=f"retry after {wait:g} s"))

    async def _migrated(self, chat: ChatQueue, row: OutboxRow, new_id: int) -> None:
        """The group became a supergroup: move the chat, then resend everything to it."""
        old_id = chat.id
        self.stats.migrated += 1
        log.info("chat %d migrated to %d; resending its messages there", old_id, new_id)
        if self._chat_events is not None:
            try:
                await self._chat_events.migrate(old_id, new_id)
            except Exception:
                log.exception("recording the migration of chat %d failed", old_id)
        moved = [replace(row, status=PENDING)] if self._check_requests(row) else []
        moved += self._queue.clear(chat)
        target = self._queue.chat(new_id)
        for r in reversed(moved):
            r = replace(r, chat_id=new_id)
            self._record(r)
            self._queue.put_back(target, r)

    async def _gone(self, chat: ChatQueue, row: OutboxRow, reason: str) -> None:
        """Blocked, kicked or deleted: deactivate the chat; its queued messages fail."""
        self.stats.gone += 1
        log.warning("chat %d is unreachable (%s); deactivating it", chat.id, reason)
        if self._chat_events is not None:
            try:
                await self._chat_events.deactivate(chat.id)
            except Exception:
                log.exception("deactivating chat %d failed", chat.id)
        for r in [row, *self._queue.clear(chat)]:
            self._fail(r, f"chat unreachable: {reason}")

    def _retry_later(
        self, chat: ChatQueue, row: OutboxRow, reason: str, at_least_s: float = 0.0
    ) -> None:
        """Network error, timeout or 5xx: Telegram's trouble, not the message's. Back off
        (jittered, capped, at least ``at_least_s``) and retry until Telegram is back: these
        use up none of the message's requests, so an outage of any length loses nothing."""
        self._transient[row.id] = self._transient.get(row.id, 0) + 1
        # Bounded exponent: the ceiling is reached long before; 2**n must stay a float.
        backoff = Backoff(self.retry.backoff, self._rng, attempt=min(row.attempts - 1, 64))
        delay = max(at_least_s, backoff.next_delay())
        self.stats.retried += 1
        log.info("message %d to chat %d: %s; retry in %.1f s", row.id, row.chat_id, reason, delay)
        self._queue.delay(chat, self._clock() + delay)
        next_try = self._now_ms() + int(delay * 1000)
        self._requeue(chat, replace(row, status=PENDING, next_try_ms=next_try, reason=reason))

    def _requeue(self, chat: ChatQueue, row: OutboxRow) -> None:
        if self._check_requests(row):
            self._record(row)
            self._queue.put_back(chat, row)

    def _check_requests(self, row: OutboxRow) -> bool:
        """False (and the row failed) once it has used up its requests (transient
        failures of this run not counted)."""
        counted = row.attempts - self._transient.get(row.id, 0)
        if counted < self.retry.max_requests:
            return True
        self._fail(row, f"gave up after {row.attempts} requests ({row.reason})")
        return False

    def _fail(self, row: OutboxRow, reason: str) -> None:
        self.stats.failed += 1
        self._forget(row.id)
        log.warning("message %d to chat %d not delivered: %s", row.id, row.chat_id, reason)
        self._record(replace(row, status=FAILED, reason=reason))

    def _forget(self, row_id: int) -> None:
        self._known.discard(row_id)
        self._transient.pop(row_id, None)
        self._done[row_id] = None
        if len(self._done) > _DONE_MEMORY:
            del self._done[next(iter(self._done))]

    def _describe(self, exc: TelegramError) -> str:
        """One line: the error's kind and message, without the token or an HTML page."""
        return describe(exc, self._bot.token)

    def _scrub(self, text: str) -> str:
        """Error text as it may be logged or stored: never with the bot token."""
        token = self._bot.token
        return text.replace(token, "<token>") if token else text

    # ----- persisting status changes --------------------------------------------------------

    def _record(self, row: OutboxRow) -> None:
        self._unsaved[row.id] = row  # later changes of the same row supersede earlier ones
        self._save_wake.set()

    async def _write(self) -> None:
        """Write status changes in batches, in order, off the send path."""
        while True:
            await self._save_wake.wait()
            self._save_wake.clear()
            while self._unsaved:
                batch, self._unsaved = self._unsaved, {}
                self._saving = True
                try:
                    await self._dbt.run(outbox.update, list(batch.values()))
                except Exception as exc:  # the database is failing: one line, then retry
                    log.warning(
                        "writing %d outbox status change(s) failed (%s: %s); retrying",
                        len(batch),
                        type(exc).__name__,
                        exc,
                    )
                    for row_id, row in batch.items():
                        self._unsaved.setdefault(row_id, row)
                    await asyncio.sleep(1.0)
                finally:
                    self._saving = False
            self._progress.set()
            if self._stopping:
                return

"""``AlertEngine``: evaluates every subscribed rule against the warm totals, at least once a
second, and turns fires into outbox rows.

A tick asks the ``TotalsIndex`` once per distinct window (the market total and every
coin's total come out of the same answer), lets the grouping ``rules.Evaluator`` decide
what fired, turns each (rule, fire) into one notice (data; the channel renders it when
it sends) and fans it out to the chats sharing it. The
new rule states and the messages are committed in ONE transaction, so a restart neither
repeats an alert (its state is saved) nor loses one (its row is still in the outbox);
then the sender is handed the rows. Muted chats advance their state but get no message,
so nothing piles up for after the mute.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Protocol, TypeVar, cast

from sqlite_utils import Database

from bot.alerts import rules
from bot.alerts.notice import LiquidationNotice, to_json
from bot.clock import now_ms
from bot.config import Settings
from bot.domain import WINDOWS
from bot.market.context import MarketContext
from bot.market.lookup import MarketHistory, window_context
from bot.totals.coverage import VenueCoverage
from bot.totals.index import TotalsIndex
from bot.totals.result import Totals
from storage import chats, outbox
from storage.chats import ChatRow, RuleKey, RuleRow
from storage.db import DbThread
from storage.outbox import NewMessage, OutboxRow
from storage.rowwise import unwritable, write_each

if TYPE_CHECKING:
    from bot.chats import RuleSink

log = logging.getLogger(__name__)

CoverageMap = Mapping[str, VenueCoverage]
CoverageProvider = Callable[[int, int], CoverageMap | Awaitable[CoverageMap]]
"""``coverage(window_ms, end_ms)`` -> each venue's coverage of that window (sync or async)."""

DAY = "24h"
K = TypeVar("K")
ALERT_KIND = "alert"


class Outlet(Protocol):
    """Where committed outbox rows go (``notify.telegram.Sender``)."""

    def push(self, rows: Iterable[OutboxRow]) -> None:
        """Queue stored rows for sending."""


@dataclass
class EngineStats:
    """Counters since start, and the cost of the last tick."""

    ticks: int = 0
    alerts: int = 0
    messages: int = 0
    muted_skipped: int = 0
    commit_failures: int = 0
    last_tick_ms: float = 0.0  # the whole tick, commit included
    last_eval_ms: float = 0.0  # totals queries and rule evaluation only
    last_eval_cpu_ms: float = 0.0  # the same in process CPU time (robust on a busy host)


def _load(db: Database) -> tuple[list[RuleRow], list[ChatRow]]:
    return chats.load_active_rules(db), chats.load_active_chats(db)


def commit_states_and_messages(
    db: Database,
    save_states: Callable[[Database, Sequence[tuple[K, rules.RuleState]]], object],
    states: Mapping[K, rules.RuleState],
    messages: Sequence[NewMessage],
    now: int,
    what: str = "alert",
) -> list[OutboxRow]:
    """Rule states and the messages they produced, atomically; returns the stored rows.

    A state or message whose values SQLite refuses is left out (logged once per commit)
    and the rest are written, so one bad row never blocks the rows behind it. A failure
    of the database itself propagates: the caller keeps the batch and retries.
    """
    try:
        with db.atomic():
            save_states(db, list(states.items()))
            return outbox.add(db, messages, now)
    except Exception as exc:
        if not unwritable(exc):
            raise
    with db.atomic():
        kept = write_each(db, list(states.items()), save_states)
        added = write_each(db, messages, lambda d, part: outbox.add(d, part, now))
    log.error(
        "%s commit: left out the unwritable rows, %d of %d rule state(s) and %d of %d"
        " message(s) (%s)",
        what,
        len(kept.skipped),
        len(states),
        len(added.skipped),
        len(messages),
        kept.describe() if kept.skipped else added.describe(),
    )
    return [row for rows in added.written for row in rows]


def _commit(
    db: Database, states: Mapping[RuleKey, rules.RuleState], messages: list[NewMessage], now: int
) -> list[OutboxRow]:
    """Rule states and the messages they produced, atomically (unwritable rows left out)."""
    return commit_states_and_messages(db, chats.save_states, states, messages, now)


class AlertEngine:
    """The rules of every subscribed, active chat; implements ``chats.RuleSink``.

    ``await load()`` once at start-up, then ``await tick()`` at least once a second (and
    after each ingest flush: :meth:`poke` is an ingest listener). Ticks never overlap.
    """

    def __init__(
        self,
        dbt: DbThread,
        index: TotalsIndex,
        sender: Outlet | None = None,
        *,
        evaluator: rules.Evaluator | None = None,
        now_ms: Callable[[], int] = now_ms,
        coverage: CoverageProvider | None = None,
        settings: Settings | None = None,
        market: MarketHistory | None = None,
    ) -> None:
        self.dbt = dbt
        self.index = index
        self.sender = sender
        self.evaluator = evaluator if evaluator is not None else rules.Evaluator()
        self.now_ms = now_ms
        self.coverage = coverage
        # Funding, open interest and prices around each alert's window (None: no context).
        self.market = market
        self.venues: Sequence[str] | None = settings.exchanges if settings else None
        self.stats = EngineStats()
        self._by_chat: dict[int, set[RuleKey]] = {}
        self._muted: dict[int, int] = {}  # chat_id -> muted until (ms)
        self._lock = asyncio.Lock()
        # Kept when a commit fails, and committed with the next tick's.
        self._unsaved_states: dict[Hashable, rules.RuleState] = {}
        self._unsaved_messages: list[NewMessage] = []
        self._failing = False  # the last commit failed (log the next failure in one line)
        self._again = False
        self._poker: asyncio.Task[None] | None = None

    # ----- start-up -------------------------------------------------------------------------

    async def load(self) -> int:
        """Load every subscribed, active chat's rules with their persisted state and mutes;
        returns the number of rules."""
        rule_rows, chat_rows = await self.dbt.run(_load)
        now = self.now_ms()
        for row in rule_rows:
            self.evaluator.set(row.key, row.spec, row.state)
            self._by_chat.setdefault(row.chat_id, set()).add(row.key)
        for chat in chat_rows:
            if chat.muted(now) and chat.muted_until_ms is not None:
                self._muted[chat.chat_id] = chat.muted_until_ms
        self.evaluator.take_changed()  # exactly what is stored (re-armed ones re-arm again)
        log.info("alert engine: %d rules of %d chats loaded", len(rule_rows), len(self._by_chat))
        return len(rule_rows)

    # ----- RuleSink -------------------------------------------------------------------------

    def rule_set(self, chat_id: int, spec: rules.RuleSpec) -> None:
        """A new or changed rule; fires at the next tick if the total is already above."""
        key: RuleKey = (chat_id, spec.coin or "", spec.window)
        self.evaluator.set(key, spec)
        self._by_chat.setdefault(chat_id, set()).add(key)

    def rule_removed(self, chat_id: int, coin: str | None, window: str) -> None:
        """Forget one rule (``coin`` None = market-wide)."""
        key: RuleKey = (chat_id, coin or "", window)
        self.evaluator.remove(key)
        keys = self._by_chat.get(chat_id)
        if keys is not None:
            keys.discard(key)
            if not keys:
                del self._by_chat[chat_id]

    def chat_removed(self, chat_id: int) -> None:
        """Forget every rule of the chat (/stop, or it blocked the bot)."""
        for key in self._by_chat.pop(chat_id, ()):
            self.evaluator.remove(key)
        self._muted.pop(chat_id, None)

    def chat_muted(self, chat_id: int, until_ms: int | None) -> None:
        """No messages to the chat before ``until_ms`` (None: unmuted); states still move."""
        if until_ms is None:
            self._muted.pop(chat_id, None)
        else:
            self._muted[chat_id] = until_ms

    def chat_migrated(self, old_id: int, new_id: int) -> None:
        """Move the chat's rules with their states (rules the new id has already win)."""
        for key in self._by_chat.pop(old_id, ()):
            spec, state = self.evaluator.spec(key), self.evaluator.state(key)
            self.evaluator.remove(key)
            new_key: RuleKey = (new_id, key[1], key[2])
            if new_key not in self.evaluator:
                self.evaluator.set(new_key, spec, state)
            self._by_chat.setdefault(new_id, set()).add(new_key)
        until = self._muted.pop(old_id, None)
        if until is not None and new_id not in self._muted:
            self._muted[new_id] = until

    # ----- ticking --------------------------------------------------------------------------

    def muted(self, chat_id: int, now_ms: int) -> bool:
        """True while the chat's mute lasts."""
        until = self._muted.get(chat_id)
        if until is None:
            return False
        if until <= now_ms:
            del self._muted[chat_id]
            return False
        return True

    def poke(self, *_: object) -> None:
        """Tick soon (usable as an ``Ingestor`` listener); pokes during a tick coalesce
        into one more tick."""
        self._again = True
        if self._poker is None or self._poker.done():
            self._poker = asyncio.get_running_loop().create_task(self._ticks())

    async def _ticks(self) -> None:
        while self._again:
            self._again = False
            try:
                await self.tick()
            except Exception:
                log.exception("alert tick failed")

    async def tick(self, now_ms: int | None = None) -> list[OutboxRow]:
        """Evaluate every rule at ``now_ms`` (default now); commit states and messages;
        hand the rows to the sender. Returns the rows queued."""
        async with self._lock:
            started, cpu = time.perf_counter(), time.process_time()
            now = self.now_ms() if now_ms is None else now_ms
            window_totals: dict[str, Totals] = {}
            alerts = self._evaluate(now, window_totals)
            self.stats.last_eval_ms = (time.perf_counter() - started) * 1000
            self.stats.last_eval_cpu_ms = (time.process_time() - cpu) * 1000
            messages = await self._compose(alerts, now, window_totals) if alerts else []
            self._unsaved_states.update(self.evaluator.take_changed())
            self._unsaved_messages += messages
            rows = await self._save(now)
            self.stats.ticks += 1
            self.stats.last_tick_ms = (time.perf_counter() - started) * 1000
        if rows and self.sender is not None:
            self.sender.push(rows)
        return rows

    def _evaluate(self, now: int, window_totals: dict[str, Totals]) -> list[rules.Alert]:
        """One index query per window, then the evaluator; fills ``window_totals``."""
        if self.index.series == 0:
            return []  # nothing loaded or ingested yet: no data is not "below threshold"
        values: dict[rules.TotalsKey, float] = {}
        needed = self.evaluator.keys()
        for coin, window in needed:
            totals = window_totals.get(window)
            if totals is None:
                totals = window_totals[window] = self.index.query(
                    WINDOWS[window], now_ms=now, venues=self.venues
                )
            if coin is None:
                values[(coin, window)] = totals.total_usd
            else:
                share = totals.by_coin.get(coin)
                values[(coin, window)] = share.total_usd if share is not None else 0.0
        return self.evaluator.tick(values, now)

    async def _compose(
        self, alerts: list[rules.Alert], now: int, window_totals: dict[str, Totals]
    ) -> list[NewMessage]:
        """Format each alert once and address it to its chats that are not muted."""
        messages: list[NewMessage] = []
        scoped: dict[tuple[str | None, str], Totals] = {}

        def totals_of(coin: str | None, window: str) -> Totals:
            if coin is None and window in window_totals:
                return window_totals[window]
            found = scoped.get((coin, window))
            if found is None:
                found = scoped[(coin, window)] = self.index.query(
                    WINDOWS[window], now_ms=now, coin=coin, venues=self.venues
                )
            return found

        for alert in alerts:
            self.stats.alerts += 1
            recipients = sorted({cast(RuleKey, entry)[0] for entry in alert.entries})
            live = [c for c in recipients if not self.muted(c, now)]
            self.stats.muted_skipped += len(recipients) - len(live)
            if not live:
                continue
            spec = alert.spec
            totals = totals_of(spec.coin, spec.window)
            if self.coverage is not None:
                totals = replace(totals, coverage=await self._coverage(spec.window, totals))
            context = await self._context(spec, totals, now) if self.market is not None else None
            day = totals_of(spec.coin, DAY)
            payload = to_json(LiquidationNotice(spec, alert.fire, totals, day, context))
            messages += [NewMessage(chat_id, "", ALERT_KIND, payload) for chat_id in live]
        return messages

    async def _context(
        self, spec: rules.RuleSpec, totals: Totals, now: int
    ) -> MarketContext | None:
        """The market around the window: the dominating coins' figures before and now."""
        assert self.market is not None
        try:
            return await window_context(self.market, totals, now, spec.coin)
        except Exception:  # an alert without its market context beats no alert
            log.exception("market context for the %s alert failed", spec.window)
            return None

    async def _coverage(self, window: str, totals: Totals) -> CoverageMap:
        assert self.coverage is not None
        try:
            result = self.coverage(WINDOWS[window], totals.end_ms)
            return await result if inspect.isawaitable(result) else result
        except Exception:  # an alert without its coverage note beats no alert
            log.exception("coverage for the %s alert failed", window)
            return {}

    async def _save(self, now: int) -> list[OutboxRow]:
        """Commit the unsaved states and messages; on failure keep them for the next tick."""
        if not (self._unsaved_states or self._unsaved_messages):
            return []
        states = dict(self._unsaved_states)
        messages = list(self._unsaved_messages)
        try:
            rows = await self.dbt.run(
                _commit, cast(dict[RuleKey, rules.RuleState], states), messages, now
            )
        except Exception as exc:
            self.stats.commit_failures += 1
            # The database itself is failing (unwritable rows never get here): the cause in
            # one line, first at WARNING and then quieter, until a commit goes through.
            level = logging.INFO if self._failing else logging.WARNING
            log.log(
                level,
                "committing %d rule states and %d alerts failed (%s: %s); retrying next tick",
                len(states),
                len(messages),
                type(exc).__name__,
                exc,
            )
            self._failing = True
            return []
        self._failing = False
        self._unsaved_states.clear()  # only ticks fill them, and ticks hold the lock
        self._unsaved_messages.clear()
        self.stats.messages += len(rows)
        return rows


if TYPE_CHECKING:

    def _is_rule_sink(engine: AlertEngine) -> RuleSink:
        return engine  # mypy checks AlertEngine against the protocol here

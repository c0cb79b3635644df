"""``AlertEngine``: evaluates every subscribed rule against the warm totals, at least once a
second, and turns fires into outbox rows.

A tick asks the ``TotalsIndex`` once per distinct window (the market total and every
coin's total come out of the same answer), lets the grouping ``rules.Evaluator`` decide
what fired, and turns each (rule, fire) into one notice (data; the channel renders it
when it sends) for the chats sharing it. Mutes, the commit of states and outbox rows in
ONE transaction, and the push to the sender are the one alert pipeline's
(``bot.alerts.pipeline``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from sqlite_utils import Database

from bot.alerts import rules
from bot.alerts.notice import LiquidationNotice
from bot.alerts.pipeline import AlertPipeline, AlertStats, Outlet
from bot.clock import now_ms
from bot.domain import WINDOWS
from bot.totals.result import Totals
from bot.totals.service import TotalsService
from storage import chats
from storage.chats import ChatRow, RuleKey, RuleRow
from storage.db import DbThread
from storage.outbox import OutboxRow

if TYPE_CHECKING:
    from bot.chats import RuleSink

log = logging.getLogger(__name__)

DAY = "24h"
ALERT_KIND = "alert"


def _load(db: Database) -> tuple[list[RuleRow], list[ChatRow]]:
    return chats.load_active_rules(db), chats.load_active_chats(db)


class AlertEngine:
    """The rules of every subscribed, active chat; implements ``chats.RuleSink``.

    ``await load()`` once at start-up, then ``await tick()`` at least once a second (and
    after each ingest flush: :meth:`poke` is an ingest listener). Ticks never overlap.

    ``totals`` is the one totals query: the enabled venues' totals, their coverage and the
    market around an alert's window come from it, as for /liq and the CLI. The engine
    reads no configuration of its own.
    """

    def __init__(
        self,
        dbt: DbThread,
        totals: TotalsService,
        sender: Outlet | None = None,
        *,
        evaluator: rules.Evaluator | None = None,
        now_ms: Callable[[], int] = now_ms,
    ) -> None:
        self.dbt = dbt
        self.totals = totals
        self.evaluator = evaluator if evaluator is not None else rules.Evaluator()
        self.now_ms = now_ms
        self.pipeline: AlertPipeline[RuleKey] = AlertPipeline(
            dbt, chats.save_states, kind=ALERT_KIND, what="alert", run_name="tick", sender=sender
        )
        self._by_chat: dict[int, set[RuleKey]] = {}
        self._muted: dict[int, int] = {}  # chat_id -> muted until (ms)
        self._lock = asyncio.Lock()
        # This tick's totals: per window (market-wide), and per (coin, window) asked since.
        self._window_totals: dict[str, Totals] = {}
        self._scoped: dict[tuple[str | None, str], Totals] = {}
        self._again = False
        self._poker: asyncio.Task[None] | None = None

    @property
    def stats(self) -> AlertStats:
        """Counters since start, and the cost of the last tick."""
        return self.pipeline.stats

    @property
    def sender(self) -> Outlet | None:
        """Where committed rows go."""
        return self.pipeline.sender

    @sender.setter
    def sender(self, sender: Outlet | None) -> None:
        self.pipeline.sender = sender

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
            now = self.now_ms() if now_ms is None else now_ms
            try:
                return await self.pipeline.run(self, now)
            finally:
                self._window_totals, self._scoped = {}, {}  # a tick's totals die with it

    # ----- AlertKind: the parts the pipeline runs ---------------------------------------------

    async def evaluate(self, now: int) -> list[rules.Alert]:
        """What fired (one index query per window)."""
        return self._evaluate(now, self._window_totals)

    def recipients(self, alert: rules.Alert) -> list[int]:
        """The chats of the alert's rules."""
        return [cast(RuleKey, entry)[0] for entry in alert.entries]

    def changed_states(self) -> dict[RuleKey, rules.RuleState]:
        """The rule states that changed since the last tick."""
        return cast(dict[RuleKey, rules.RuleState], self.evaluator.take_changed())

    async def notice(self, alert: rules.Alert, now: int) -> LiquidationNotice:
        """The alert with its totals, coverage, 24 h context and market around it."""
        spec = alert.spec
        # Lenient: an alert without its coverage note or market context beats no alert.
        report = await self.totals.complete(
            self._totals_of(spec.coin, spec.window, now),
            spec.coin,
            now,
            with_market=True,
            lenient=True,
        )
        day = self._totals_of(spec.coin, DAY, now)
        return LiquidationNotice(spec, alert.fire, report.totals, day, report.market)

    def _totals_of(self, coin: str | None, window: str, now: int) -> Totals:
        if coin is None and window in self._window_totals:
            return self._window_totals[window]
        found = self._scoped.get((coin, window))
        if found is None:
            found = self._scoped[(coin, window)] = self.totals.totals(WINDOWS[window], coin, now)
        return found

    def _evaluate(self, now: int, window_totals: dict[str, Totals]) -> list[rules.Alert]:
        """One index query per window, then the evaluator; fills ``window_totals``."""
        if self.totals.index.series == 0:
            return []  # nothing loaded or ingested yet: no data is not "below threshold"
        values: dict[rules.TotalsKey, float] = {}
        needed = self.evaluator.keys()
        for coin, window in needed:
            totals = window_totals.get(window)
            if totals is None:
                totals = window_totals[window] = self.totals.totals(WINDOWS[window], None, now)
            if coin is None:
                values[(coin, window)] = totals.total_usd
            else:
                share = totals.by_coin.get(coin)
                values[(coin, window)] = share.total_usd if share is not None else 0.0
        return self.evaluator.tick(values, now)


if TYPE_CHECKING:

    def _is_rule_sink(engine: AlertEngine) -> RuleSink:
        return engine  # mypy checks AlertEngine against the protocol here

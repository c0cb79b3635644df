"""``FundingAlerts``: after each market poll, alert chats whose funding threshold a coin's
open-interest-weighted 8 h funding reached, in either sign.

A chat has one threshold (``/fundingalert 0.1%``) and it applies to the top coins by open
interest plus the chat's watched coins. Each (chat, coin) follows the liquidation rules'
semantics through ``rules.Evaluator`` on ``|funding|``: it fires on reaching the threshold,
escalates at 2×, 4×, 8×, and re-arms below 80 % of it. Like
``bot.alerts.liquidations.AlertEngine``, the new states and the outbox rows are committed in
ONE transaction, then handed to the sender, by the one alert pipeline (``bot.alerts.pipeline``);
muted chats advance their state without a message.

Settings live in SQLite (``storage.funding_alerts``) and are read at each poll, so the
command handlers only write them; a migrated group is told through :meth:`chat_migrated`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Final, cast

from sqlite_utils import Database

from bot.alerts import rules
from bot.alerts.notice import FundingNotice
from bot.alerts.pipeline import AlertPipeline, AlertStats, Outlet
from bot.chats import (
    clear_funding_threshold,
    get_funding_threshold,
    set_funding_threshold,
)
from bot.clock import now_ms
from bot.domain import CoinMarket, RuleSpec, RuleState
from bot.market.lookup import LiveMarket
from storage import funding_alerts as store
from storage.db import DbThread
from storage.funding_alerts import FundingTarget, StateKey
from storage.outbox import OutboxRow

log = logging.getLogger(__name__)

# The evaluator's "window" for funding: its keys are (coin, FUNDING_WINDOW).
FUNDING_WINDOW: Final = "funding8h"
FUNDING_KIND: Final = "funding"
TOP_COINS: Final = 20

# Entries (re)built between two yields to the event loop.
SYNC_BATCH: Final = 2000

# Evaluator entry id: (chat_id, "funding", coin).
EntryKey = tuple[int, str, str]


def _load(
    db: Database, versions: Mapping[int, int]
) -> tuple[list[FundingTarget], dict[StateKey, RuleState]]:
    """Targets, and the stored states of chats whose setting changed since ``versions``."""
    targets = store.load_targets(db)
    stale = [t.chat_id for t in targets if versions.get(t.chat_id) != t.updated_ms]
    return targets, store.load_states(db, stale) if stale else {}


# The setting is the chat service's (``bot.chats``); these keep the engine module's calls.
async def set_threshold(
    dbt: DbThread, chat_id: int, threshold: float, now_ms: int
) -> float | None:
    """/fundingalert RATE: see :func:`bot.chats.set_funding_threshold`."""
    return await set_funding_threshold(dbt, chat_id, threshold, now_ms)


async def clear_threshold(dbt: DbThread, chat_id: int) -> float | None:
    """/fundingalert off: see :func:`bot.chats.clear_funding_threshold`."""
    return await clear_funding_threshold(dbt, chat_id)


async def get_threshold(dbt: DbThread, chat_id: int) -> float | None:
    """The chat's threshold, or None."""
    return await get_funding_threshold(dbt, chat_id)


def top_by_oi(coins: Iterable[CoinMarket], n: int) -> list[str]:
    """The ``n`` coins with the most open interest (ties by name)."""
    with_oi = [c for c in coins if c.oi_usd is not None and c.oi_usd > 0]
    with_oi.sort(key=lambda c: (-(c.oi_usd or 0.0), c.coin))
    return [c.coin for c in with_oi[:n]]


class FundingAlerts:
    """Funding alerts of every subscribed, active chat that set one.

    The lead calls ``await on_poll()`` after each market poll; polls never overlap.
    """

    def __init__(
        self,
        dbt: DbThread,
        market: LiveMarket,
        sender: Outlet | None = None,
        *,
        top_n: int = TOP_COINS,
        now_ms: Callable[[], int] = now_ms,
    ) -> None:
        self.dbt = dbt
        self.market = market
        self.pipeline: AlertPipeline[StateKey] = AlertPipeline(
            dbt,
            store.save_states,
            kind=FUNDING_KIND,
            what="funding",
            run_name="poll",
            sender=sender,
        )
        self.top_n = top_n
        self.now_ms = now_ms
        self.evaluator = rules.Evaluator()
        self._entries: set[EntryKey] = set()
        self._synced: object = None  # what _sync last built the entries from
        self._states: dict[StateKey, RuleState] = {}
        self._versions: dict[int, int] = {}  # chat_id -> updated_ms of the setting loaded
        self._fresh: dict[str, CoinMarket] = {}  # this poll's coins with fresh funding
        self._muted: set[int] = set()  # this poll's muted chats
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def stats(self) -> AlertStats:
        """Counters since start."""
        return self.pipeline.stats

    @property
    def sender(self) -> Outlet | None:
        """Where committed rows go."""
        return self.pipeline.sender

    @sender.setter
    def sender(self, sender: Outlet | None) -> None:
        self.pipeline.sender = sender

    async def on_poll(self, now_ms: int | None = None) -> list[OutboxRow]:
        """Evaluate every chat's funding alert on the latest poll; commit states and
        messages; hand the rows to the sender. Returns the rows queued."""
        async with self._lock:
            now = self.now_ms() if now_ms is None else now_ms
            return await self.pipeline.run(self, now)

    # ----- AlertKind: the parts the pipeline runs ---------------------------------------------

    async def evaluate(self, now: int) -> list[rules.Alert]:
        """Read the settings, follow the top coins and watched ones, evaluate ``|funding|``."""
        targets, loaded = await self.dbt.run(_load, dict(self._versions))
        self._fresh = {
            c.coin: c
            for c in self.market.coins(now)
            if c.funding_8h is not None and now - c.ts_ms <= self.market.stale_after_ms
        }
        self._refresh(targets, loaded)
        await self._sync(targets, top_by_oi(self._fresh.values(), self.top_n))
        values: dict[rules.TotalsKey, float] = {
            (coin, FUNDING_WINDOW): abs(c.funding_8h or 0.0) for coin, c in self._fresh.items()
        }
        self._muted = {t.chat_id for t in targets if t.muted(now)}
        return self.evaluator.tick(values, now)

    def recipients(self, alert: rules.Alert) -> list[int]:
        """The chats of the alert's entries."""
        return [cast(EntryKey, e)[0] for e in alert.entries]

    def muted(self, chat_id: int, now: int) -> bool:
        """True when the chat's mute lasted at this poll."""
        return chat_id in self._muted

    async def notice(self, alert: rules.Alert, now: int) -> FundingNotice | None:
        """The coin's market at this poll and the fire."""
        coin = alert.spec.coin
        return None if coin is None else FundingNotice(self._fresh[coin], alert.fire)

    def changed_states(self) -> dict[StateKey, RuleState]:
        """The states worth a write: every change but armed entries that were armed."""
        changed: dict[StateKey, RuleState] = {}
        for entry, state in self.evaluator.take_changed().items():
            chat_id, _, coin = cast(EntryKey, entry)
            key = (chat_id, coin)
            old = self._states.get(key)
            # Armed is what a missing row means too: a chat's first poll adds 20+
            # armed entries, none of them worth a write.
            if state.level == 0 and (old is None or old.level == 0):
                continue
            self._states[key] = changed[key] = state
        return changed

    def _refresh(
        self, targets: Sequence[FundingTarget], loaded: Mapping[StateKey, RuleState]
    ) -> None:
        """Forget chats that left; take the stored states of chats whose setting changed."""
        listening = {t.chat_id: t.updated_ms for t in targets}
        changed = {c for c, v in listening.items() if self._versions.get(c) != v}
        gone = set(self._versions) - set(listening)
        if changed or gone:
            drop = changed | gone
            for entry in [e for e in self._entries if e[0] in drop]:
                self.evaluator.remove(entry)  # re-added by _sync with the reloaded state
                self._entries.discard(entry)
            self._synced = None
            self._states = {k: s for k, s in self._states.items() if k[0] not in drop}
            self._states.update(loaded)
        self._versions = listening

    async def _sync(self, targets: Sequence[FundingTarget], top: Sequence[str]) -> None:
        """Make the evaluator hold exactly one entry per (chat, top or watched coin)."""
        # Between most polls nothing changed: skip rebuilding 20+ entries per chat.
        signature = (
            tuple((t.chat_id, t.threshold, t.watched) for t in targets),
            frozenset(top),
        )
        if signature == self._synced:
            return
        self._synced = signature
        desired: dict[EntryKey, float] = {}
        for t in targets:
            for coin in (*top, *t.watched):
                desired[(t.chat_id, FUNDING_KIND, coin)] = t.threshold
        for entry in self._entries - desired.keys():
            self.evaluator.remove(entry)  # its state stays in _states for when it returns
        for i, (entry, threshold) in enumerate(desired.items()):
            if i % SYNC_BATCH == SYNC_BATCH - 1:
                await asyncio.sleep(0)  # thousands of chats: let the bot answer meanwhile
            if entry in self.evaluator and self.evaluator.spec(entry).threshold == threshold:
                continue
            chat_id, _, coin = entry
            spec = RuleSpec(window=FUNDING_WINDOW, threshold=threshold, coin=coin)
            self.evaluator.set(entry, spec, self._states.get((chat_id, coin)))
        self._entries = set(desired)

    # ----- RuleSink: only migrations matter (settings are re-read at each poll) ----------

    async def migrate_chat(self, old_id: int, new_id: int) -> bool:
        """Move the funding alert of a group that became a supergroup."""
        async with self._lock:
            moved = await self.dbt.run(store.migrate, old_id, new_id)
            self._versions.pop(old_id, None)
            self._versions.pop(new_id, None)  # reload the new id's states at the next poll
            return moved

    def chat_migrated(self, old_id: int, new_id: int) -> None:
        """``RuleSink``: schedule :meth:`migrate_chat`."""
        task = asyncio.get_running_loop().create_task(self._migrate_logged(old_id, new_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _migrate_logged(self, old_id: int, new_id: int) -> None:
        try:
            await self.migrate_chat(old_id, new_id)
        except Exception:
            log.exception("moving the funding alert of chat %d to %d failed", old_id, new_id)

    def rule_set(self, chat_id: int, spec: RuleSpec) -> None:
        """``RuleSink``: watched coins are re-read at the next poll."""

    def rule_removed(self, chat_id: int, coin: str | None, window: str) -> None:
        """``RuleSink``: re-read at the next poll."""

    def chat_removed(self, chat_id: int) -> None:
        """``RuleSink``: re-read at the next poll (the chat is no longer listening)."""

    def chat_muted(self, chat_id: int, until_ms: int | None) -> None:
        """``RuleSink``: mutes are re-read at the next poll."""

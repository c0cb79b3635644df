"""The application layer behind the chat commands: what a chat has set, and telling the
alert engine.

Handlers call :class:`ChatService`; it runs every database call on the DB thread
(``DbThread.run``) and, after a change is committed, tells the alert engine through the
:class:`RuleSink` protocol. The engine only holds rules of chats that are subscribed and
active, so changes to other chats are stored without telling it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final, Protocol

from sqlite_utils import Database

from bot.alerts import rules
from bot.clock import now_ms
from storage import chats as store
from storage import funding_alerts as funding_store
from storage.chats import ChatRow, RuleRow, SubscribeResult, WatchResult
from storage.db import DbThread

MAX_WATCHES: Final = 30
# Accepted funding alert thresholds (8 h equivalent): below 0.001 % everything fires; the
# venues' caps reach a few % per interval, so over 5 %/8h is a typo (0.1 meant as 0.1 %).
MIN_FUNDING_THRESHOLD: Final = 0.00001
MAX_FUNDING_THRESHOLD: Final = 0.05


class RuleSink(Protocol):
    """What the alert engine is told after each committed change (all calls are cheap and
    synchronous, on the event loop). Evaluator entry ids are ``(chat_id, coin or "", window)``.
    """

    def rule_set(self, chat_id: int, spec: rules.RuleSpec) -> None:
        """A new or changed rule (fires at the next tick if the total is already above)."""

    def rule_removed(self, chat_id: int, coin: str | None, window: str) -> None:
        """A rule was deleted (``coin`` None = market-wide)."""

    def chat_removed(self, chat_id: int) -> None:
        """The chat unsubscribed (/stop) or can no longer be written to (Forbidden)."""

    def chat_muted(self, chat_id: int, until_ms: int | None) -> None:
        """The chat is muted until ``until_ms`` (None: unmuted)."""

    def chat_migrated(self, old_id: int, new_id: int) -> None:
        """The chat's rules and states now live under ``new_id``."""


class NullSink:
    """A sink that ignores everything (no engine attached yet, or console tools)."""

    def rule_set(self, chat_id: int, spec: rules.RuleSpec) -> None:
        """Ignored."""

    def rule_removed(self, chat_id: int, coin: str | None, window: str) -> None:
        """Ignored."""

    def chat_removed(self, chat_id: int) -> None:
        """Ignored."""

    def chat_muted(self, chat_id: int, until_ms: int | None) -> None:
        """Ignored."""

    def chat_migrated(self, old_id: int, new_id: int) -> None:
        """Ignored."""


class ChatServiceError(Exception):
    """A request the chat's state does not allow; ``str(err)`` is one line for the user."""


class NotSubscribed(ChatServiceError):
    """The chat never ran /start, so it has no settings to change."""

    def __init__(self) -> None:
        super().__init__("this chat is not subscribed yet: send /start first")


class TooManyWatches(ChatServiceError):
    """The chat already watches the maximum number of coins."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"this chat already watches {limit} coins, the maximum; /unwatch one")
        self.limit = limit


@dataclass(frozen=True, slots=True)
class ChatSettings:
    """Everything one chat has set."""

    chat: ChatRow
    rules: tuple[RuleRow, ...]

    @property
    def market(self) -> list[RuleRow]:
        """Market-wide thresholds, shortest window first."""
        return [r for r in self.rules if r.spec.coin is None]

    @property
    def watches(self) -> list[RuleRow]:
        """Per-coin watches, by coin."""
        return [r for r in self.rules if r.spec.coin is not None]


def _existing(db: Database, chat_id: int) -> ChatRow:
    chat = store.get_chat(db, chat_id)
    if chat is None:
        raise NotSubscribed()
    return chat


def _set_threshold(
    db: Database, chat_id: int, spec: rules.RuleSpec
) -> tuple[ChatRow, rules.RuleSpec | None]:
    chat = _existing(db, chat_id)
    _, previous = store.set_rule(db, chat_id, spec)
    return chat, previous


def _set_funding(db: Database, chat_id: int, threshold: float, now_ms: int) -> float | None:
    _existing(db, chat_id)
    return funding_store.set_threshold(db, chat_id, threshold, now_ms)


async def set_funding_threshold(
    dbt: DbThread, chat_id: int, threshold: float, now_ms: int
) -> float | None:
    """/fundingalert RATE: store the chat's threshold (8 h equivalent, a positive
    fraction); returns the previous one. ``NotSubscribed`` for a chat that never ran
    /start. The funding engine picks it up at its next poll."""
    if not MIN_FUNDING_THRESHOLD <= threshold <= MAX_FUNDING_THRESHOLD:
        raise ValueError(f"funding threshold out of range: {threshold!r}")
    return await dbt.run(_set_funding, chat_id, threshold, now_ms)


async def clear_funding_threshold(dbt: DbThread, chat_id: int) -> float | None:
    """/fundingalert off: returns the threshold the chat had (None: it had none)."""
    return await dbt.run(funding_store.delete_threshold, chat_id)


async def get_funding_threshold(dbt: DbThread, chat_id: int) -> float | None:
    """The chat's funding alert threshold, or None."""
    return await dbt.run(funding_store.get_threshold, chat_id)


def _remove_rule(db: Database, chat_id: int, window: str) -> tuple[ChatRow, bool]:
    chat = _existing(db, chat_id)
    return chat, store.delete_rule(db, chat_id, None, window)


def _set_watch(
    db: Database, chat_id: int, spec: rules.RuleSpec, limit: int
) -> tuple[ChatRow, WatchResult]:
    chat = _existing(db, chat_id)
    try:
        return chat, store.set_watch(db, chat_id, spec, limit)
    except store.WatchLimitError:
        raise TooManyWatches(limit) from None


def _remove_watch(db: Database, chat_id: int, coin: str) -> tuple[ChatRow, list[str]]:
    chat = _existing(db, chat_id)
    return chat, store.delete_watch(db, chat_id, coin)


def _mute(db: Database, chat_id: int, until_ms: int | None, now_ms: int) -> ChatRow:
    old = _existing(db, chat_id)
    store.set_mute(db, chat_id, until_ms, now_ms)
    return old


def _settings(db: Database, chat_id: int) -> ChatSettings | None:
    chat = store.get_chat(db, chat_id)
    if chat is None:
        return None
    return ChatSettings(chat, tuple(store.list_rules(db, chat_id)))


def _set_active(
    db: Database, chat_id: int, active: bool, now_ms: int
) -> tuple[bool, ChatSettings | None]:
    changed = store.set_active(db, chat_id, active, now_ms)
    return changed, _settings(db, chat_id) if changed else None


class ChatService:
    """Chat subscriptions and rules: stored through the DB thread, then told to the engine.

    ``default_rules`` maps window -> threshold for new subscribers
    (``Settings.default_rules``, parsed and checked at start-up); ``sink`` may be
    attached later with :meth:`attach`.
    """

    def __init__(
        self,
        dbt: DbThread,
        default_rules: Mapping[str, float],
        sink: RuleSink | None = None,
        *,
        now_ms: Callable[[], int] = now_ms,
        max_watches: int = MAX_WATCHES,
    ) -> None:
        self.dbt = dbt
        self.default_rules = dict(default_rules)
        self.sink: RuleSink = sink if sink is not None else NullSink()
        self.now_ms = now_ms
        self.max_watches = max_watches

    def attach(self, sink: RuleSink) -> None:
        """Tell ``sink`` about every change from now on (the engine, once it exists)."""
        self.sink = sink

    # ----- subscription ----------------------------------------------------------------

    async def subscribe(self, chat_id: int, chat_type: str, title: str = "") -> SubscribeResult:
        """/start: a new chat gets the default rules; a returning one gets its own back."""
        result = await self.dbt.run(
            store.subscribe, chat_id, chat_type, title, self.default_rules, self.now_ms()
        )
        if result.outcome != "already":
            self._announce(result.chat, result.rules)
        return result

    async def unsubscribe(self, chat_id: int) -> bool:
        """/stop: no more alerts, settings kept; False if the chat was not subscribed."""
        changed = await self.dbt.run(store.unsubscribe, chat_id, self.now_ms())
        if changed:
            self.sink.chat_removed(chat_id)
        return changed

    async def settings(self, chat_id: int) -> ChatSettings | None:
        """The chat and its rules, or None if it never subscribed."""
        return await self.dbt.run(_settings, chat_id)

    # ----- funding alert ---------------------------------------------------------------

    async def funding_threshold(self, chat_id: int) -> float | None:
        """The chat's funding alert threshold (8 h equivalent), or None."""
        return await get_funding_threshold(self.dbt, chat_id)

    async def set_funding_threshold(
        self, chat_id: int, threshold: float, now_ms: int
    ) -> float | None:
        """Set the chat's funding alert threshold; returns the previous one."""
        return await set_funding_threshold(self.dbt, chat_id, threshold, now_ms)

    async def clear_funding_threshold(self, chat_id: int) -> float | None:
        """Turn the chat's funding alert off; returns the threshold it had."""
        return await clear_funding_threshold(self.dbt, chat_id)

    # ----- rules -----------------------------------------------------------------------

    async def set_threshold(
        self, chat_id: int, window: str, threshold: float
    ) -> rules.RuleSpec | None:
        """Set the market-wide threshold of ``window``; returns the previous rule, if any."""
        spec = rules.RuleSpec(window=window, threshold=threshold)
        chat, previous = await self.dbt.run(_set_threshold, chat_id, spec)
        if _listening(chat):
            self.sink.rule_set(chat_id, spec)
        return previous

    async def remove_threshold(self, chat_id: int, window: str) -> bool:
        """Turn the market-wide threshold of ``window`` off; False if it was not set."""
        chat, removed = await self.dbt.run(_remove_rule, chat_id, window)
        if removed and _listening(chat):
            self.sink.rule_removed(chat_id, None, window)
        return removed

    async def set_watch(
        self, chat_id: int, coin: str, threshold: float, window: str
    ) -> WatchResult:
        """Watch ``coin`` (replacing the chat's previous watch of it, whatever its window).

        ``TooManyWatches`` when that would exceed ``max_watches`` coins.
        """
        spec = rules.RuleSpec(window=window, threshold=threshold, coin=coin)
        chat, result = await self.dbt.run(_set_watch, chat_id, spec, self.max_watches)
        if _listening(chat):
            for old_window in result.replaced_windows:
                self.sink.rule_removed(chat_id, coin, old_window)
            self.sink.rule_set(chat_id, spec)
        return result

    async def remove_watch(self, chat_id: int, coin: str) -> list[str]:
        """Stop watching ``coin``; returns the windows removed (empty: it was not watched)."""
        chat, windows = await self.dbt.run(_remove_watch, chat_id, coin)
        if _listening(chat):
            for window in windows:
                self.sink.rule_removed(chat_id, coin, window)
        return windows

    # ----- mute ------------------------------------------------------------------------

    async def mute(self, chat_id: int, duration_ms: int) -> int:
        """Mute alerts for ``duration_ms``; returns when the mute ends."""
        now = self.now_ms()
        until = now + duration_ms
        chat = await self.dbt.run(_mute, chat_id, until, now)
        if _listening(chat):
            self.sink.chat_muted(chat_id, until)
        return until

    async def unmute(self, chat_id: int) -> bool:
        """End a mute; False if the chat was not muted."""
        now = self.now_ms()
        chat = await self.dbt.run(_mute, chat_id, None, now)
        if _listening(chat) and chat.muted_until_ms is not None:
            self.sink.chat_muted(chat_id, None)
        return chat.muted(now)

    # ----- reachability ----------------------------------------------------------------

    async def deactivate(self, chat_id: int) -> bool:
        """The bot was blocked or removed (Forbidden); False if nothing changed."""
        changed, _ = await self.dbt.run(_set_active, chat_id, False, self.now_ms())
        if changed:
            self.sink.chat_removed(chat_id)
        return changed

    async def reactivate(self, chat_id: int) -> bool:
        """The bot can write to the chat again (unblocked, re-added); a subscribed chat's
        rules go back to the engine. False if nothing changed or the chat is unknown."""
        changed, settings = await self.dbt.run(_set_active, chat_id, True, self.now_ms())
        if changed and settings is not None:
            self._announce(settings.chat, settings.rules)
        return changed

    async def migrate(self, old_id: int, new_id: int) -> bool:
        """A group became a supergroup: move everything to ``new_id``; False if unknown."""
        moved = await self.dbt.run(store.migrate_chat, old_id, new_id, self.now_ms())
        if moved:
            self.sink.chat_migrated(old_id, new_id)
        return moved

    def _announce(self, chat: ChatRow, chat_rules: tuple[RuleRow, ...]) -> None:
        """Give the engine every rule (and the mute) of a chat that became listening."""
        if not _listening(chat):
            return
        for rule in chat_rules:
            self.sink.rule_set(chat.chat_id, rule.spec)
        if chat.muted(self.now_ms()):
            self.sink.chat_muted(chat.chat_id, chat.muted_until_ms)


def _listening(chat: ChatRow) -> bool:
    """True when the engine holds this chat's rules (subscribed and reachable)."""
    return chat.subscribed and chat.active

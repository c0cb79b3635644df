"""A RuleSink that records what the chat service tells the alert engine."""

from __future__ import annotations

from typing import Any

from bot.domain import RuleSpec


class RecordingSink:
    """Implements ``bot.chats.RuleSink``; ``calls`` lists every call in order."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def rule_set(self, chat_id: int, spec: RuleSpec) -> None:
        self.calls.append(("rule_set", chat_id, spec))

    def rule_removed(self, chat_id: int, coin: str | None, window: str) -> None:
        self.calls.append(("rule_removed", chat_id, coin, window))

    def chat_removed(self, chat_id: int) -> None:
        self.calls.append(("chat_removed", chat_id))

    def chat_muted(self, chat_id: int, until_ms: int | None) -> None:
        self.calls.append(("chat_muted", chat_id, until_ms))

    def chat_migrated(self, old_id: int, new_id: int) -> None:
        self.calls.append(("chat_migrated", old_id, new_id))

    def take(self) -> list[tuple[Any, ...]]:
        """The calls since the last take, and forget them."""
        calls, self.calls = self.calls, []
        return calls

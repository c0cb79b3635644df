"""``FanoutSink``: one ``RuleSink`` that tells several (the alert engine, the funding alerts).

The chat service has one sink to tell about committed changes; every alert kind that keeps
per-chat state listens through this.
"""

from __future__ import annotations

from bot.chats import RuleSink
from bot.domain import RuleSpec


class FanoutSink:
    """A ``RuleSink`` telling several sinks, in order."""

    def __init__(self, *sinks: RuleSink) -> None:
        self.sinks = sinks

    def rule_set(self, chat_id: int, spec: RuleSpec) -> None:
        """Tell every sink."""
        for sink in self.sinks:
            sink.rule_set(chat_id, spec)

    def rule_removed(self, chat_id: int, coin: str | None, window: str) -> None:
        """Tell every sink."""
        for sink in self.sinks:
            sink.rule_removed(chat_id, coin, window)

    def chat_removed(self, chat_id: int) -> None:
        """Tell every sink."""
        for sink in self.sinks:
            sink.chat_removed(chat_id)

    def chat_muted(self, chat_id: int, until_ms: int | None) -> None:
        """Tell every sink."""
        for sink in self.sinks:
            sink.chat_muted(chat_id, until_ms)

    def chat_migrated(self, old_id: int, new_id: int) -> None:
        """Tell every sink."""
        for sink in self.sinks:
            sink.chat_migrated(old_id, new_id)

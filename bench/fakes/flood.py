"""Telegram's documented flood limits, enforced the way the fake Bot API needs them.

Bots FAQ: about 30 messages per second overall, one message per second in a private
chat, no more than 20 messages per minute in a group. Only accepted messages count
(a refused one is not delivered). ``slack`` forgives timing jitter between a client
pacing exactly at a limit and the server's clock.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Violation:
    """One message refused with 429."""

    at: float
    chat_id: int | str
    limit: str  # "global" | "private" | "group"
    retry_after: int


@dataclass
class FloodLimits:
    """Sliding-window counters; :meth:`admit` says whether a message may go now."""

    clock: Callable[[], float]
    per_second: int = 30
    private_interval_s: float = 1.0
    group_per_minute: int = 20
    slack: float = 0.01
    violations: list[Violation] = field(default_factory=list)
    _recent: deque[float] = field(default_factory=deque)
    _private_last: dict[int | str, float] = field(default_factory=dict)
    _group_recent: dict[int | str, deque[float]] = field(default_factory=dict)

    def admit(self, chat_id: int | str, chat_type: str) -> int | None:
        """Record the message and return None, or return ``retry_after`` seconds (429)."""
        now = self.clock()
        recent = self._recent
        while recent and recent[0] <= now - 1.0 + self.slack:
            recent.popleft()
        if len(recent) >= self.per_second:
            return self._refuse(now, chat_id, "global", recent[0] + 1.0 - now)
        if chat_type == "private":
            last = self._private_last.get(chat_id)
            if last is not None and now - last < self.private_interval_s - self.slack:
                return self._refuse(now, chat_id, "private", last + self.private_interval_s - now)
        else:
            group = self._group_recent.setdefault(chat_id, deque())
            while group and group[0] <= now - 60.0 + self.slack:
                group.popleft()
            if len(group) >= self.group_per_minute:
                return self._refuse(now, chat_id, "group", group[0] + 60.0 - now)
            group.append(now)
        if chat_type == "private":
            self._private_last[chat_id] = now
        recent.append(now)
        return None

    def _refuse(self, now: float, chat_id: int | str, limit: str, wait_s: float) -> int:
        retry_after = max(1, math.ceil(wait_s))
        self.violations.append(Violation(now, chat_id, limit, retry_after))
        return retry_after

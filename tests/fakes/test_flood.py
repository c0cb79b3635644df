"""Telegram's flood limits as the fake Bot API enforces them."""

from __future__ import annotations

from bench.fakes.clock import Clock
from bench.fakes.flood import FloodLimits


def test_private_chat_one_per_second_with_jitter_slack() -> None:
    clock = Clock(0.0)
    limits = FloodLimits(clock)
    assert limits.admit(1, "private") is None
    clock.now = 0.5
    assert limits.admit(1, "private") == 1
    assert limits.admit(2, "private") is None  # another chat is not affected
    clock.now = 0.995  # within the 10 ms slack of one second
    assert limits.admit(1, "private") is None
    assert [(v.chat_id, v.limit, v.retry_after) for v in limits.violations] == [(1, "private", 1)]


def test_thirty_per_second_overall_sliding() -> None:
    clock = Clock(0.0)
    limits = FloodLimits(clock)
    for chat in range(30):
        clock.now = chat * 0.02
        assert limits.admit(chat, "private") is None
    assert limits.admit(99, "private") == 1
    clock.now = 1.0  # the first message (at 0.0) left the window
    assert limits.admit(99, "private") is None
    assert limits.admit(100, "private") == 1  # the one at 0.02 is still inside
    assert [v.limit for v in limits.violations] == ["global", "global"]


def test_group_twenty_per_minute_refused_messages_do_not_count() -> None:
    clock = Clock(0.0)
    limits = FloodLimits(clock)
    for i in range(20):
        clock.now = i * 2.0
        assert limits.admit(-5, "supergroup") is None
    clock.now = 40.0
    assert limits.admit(-5, "supergroup") == 20  # the first leaves the window at 60 s
    assert limits.admit(-6, "group") is None
    clock.now = 60.0
    assert limits.admit(-5, "supergroup") is None
    assert len(limits.violations) == 1

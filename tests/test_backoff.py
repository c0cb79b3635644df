"""Backoff: capped exponential ceilings, full jitter, reset."""

import random

from bot.backoff import Backoff, BackoffPolicy


def test_ceilings_double_from_base_and_stop_at_cap() -> None:
    b = Backoff(BackoffPolicy(base_s=1.0, cap_s=60.0), random.Random(1))
    ceilings = []
    for _ in range(9):
        ceilings.append(b.ceiling())
        b.next_delay()
    assert ceilings == [1, 2, 4, 8, 16, 32, 60, 60, 60]


def test_delays_are_full_jitter_below_each_ceiling() -> None:
    b = Backoff(BackoffPolicy(base_s=1.0, cap_s=8.0), random.Random(7))
    delays = [b.next_delay() for _ in range(200)]
    assert all(0.0 <= d <= min(8.0, 2.0**i) for i, d in enumerate(delays))
    # Full jitter spreads over the whole range, not just near the ceiling.
    late = delays[10:]
    assert min(late) < 2.0 and max(late) > 6.0


def test_same_seed_gives_same_delays_and_reset_restarts_at_base() -> None:
    a = Backoff(BackoffPolicy(), random.Random(3))
    b = Backoff(BackoffPolicy(), random.Random(3))
    assert [a.next_delay() for _ in range(5)] == [b.next_delay() for _ in range(5)]
    a.reset()
    assert a.attempt == 0 and a.ceiling() == 1.0


def test_thousands_of_failures_do_not_overflow() -> None:
    b = Backoff(BackoffPolicy(base_s=1.0, cap_s=60.0), random.Random(0))
    b.attempt = 5000
    assert b.ceiling() == 60.0
    assert 0.0 <= b.next_delay() <= 60.0

"""Backoff: capped exponential ceilings, full jitter, reset."""

import itertools
import random

from bot.ingest.backoff import FEED_BACKOFF, Backoff, BackoffPolicy


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


def test_feed_policy_starts_under_a_second_and_grows_gently_to_its_cap() -> None:
    b = Backoff(FEED_BACKOFF, random.Random(1))
    ceilings = []
    for _ in range(40):
        ceilings.append(b.ceiling())
        b.next_delay()
    assert ceilings[0] < 1.0
    assert all(later >= earlier for earlier, later in itertools.pairwise(ceilings))
    assert ceilings[1] / ceilings[0] == FEED_BACKOFF.factor < 2.0
    assert ceilings[-1] == FEED_BACKOFF.cap_s


def test_the_wait_after_an_outage_is_a_small_part_of_it() -> None:
    """Seeded simulation with instantly refused connects: after a 25 s outage the next
    attempt comes on average within a few seconds (doubling from 1 s: ~16 s)."""

    def extra(policy: BackoffPolicy, seed: int) -> float:
        b, t = Backoff(policy, random.Random(seed)), 0.0
        while t < 25.0:
            t += b.next_delay()
        return t - 25.0

    feed = [extra(FEED_BACKOFF, s) for s in range(500)]
    old = [extra(BackoffPolicy(base_s=1.0, cap_s=60.0), s) for s in range(500)]
    assert sum(feed) / len(feed) < 5.0 < 10.0 < sum(old) / len(old)

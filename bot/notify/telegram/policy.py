"""The numbers behind the ``Sender``'s retries and timeouts, and what it counts.

Telegram has no idempotency key: a message it accepted whose answer never arrived is sent
again by any retry. So a send waits long for its answer (``read_timeout_s``: the 5 s PTB
default made 6 of 6 slow-but-accepted sends duplicates), and a send that timed out waits
at least ``timed_out_wait_s`` before it is resent, since a slow Telegram is not helped by
an immediate second copy.
"""

from __future__ import annotations

import datetime as dtm
import warnings
from dataclasses import dataclass, field

from telegram.error import RetryAfter
from telegram.warnings import PTBDeprecationWarning

from bot.ingest.backoff import BackoffPolicy


@dataclass(frozen=True)
class RetryPolicy:
    """Network errors, timeouts and 5xx: retried with capped, jittered backoff (ceilings
    doubling from 0.5 s to 30 s) for as long as they last, since they are Telegram's trouble
    and not the message's; ``max_requests`` bounds the other requests of one message (429s
    and migrations). ``max_attempts`` no longer bounds anything: it was the give-up point
    for network errors (a ~1 min outage lost alerts) and stays for settings that name it.
    """

    max_attempts: int = 10
    backoff: BackoffPolicy = field(default_factory=lambda: BackoffPolicy(base_s=0.5, cap_s=30.0))
    max_requests: int = 30
    retry_after_margin_s: float = 0.2
    read_timeout_s: float = 20.0
    timed_out_wait_s: float = 5.0


@dataclass
class SenderStats:
    """Counters since start (for /status and benchmarks)."""

    sent: int = 0
    failed: int = 0
    retry_after: int = 0
    retried: int = 0
    timed_out: int = 0  # of the retried: no answer in time (maybe delivered anyway)
    migrated: int = 0
    gone: int = 0
    recovered: int = 0


def retry_after_seconds(exc: RetryAfter) -> float:
    """``exc.retry_after`` in seconds, whether PTB gives an int or a timedelta."""
    with warnings.catch_warnings():
        # PTB 22 warns on reading the int form unless PTB_TIMEDELTA is set.
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)

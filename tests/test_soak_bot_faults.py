"""The Bot-API-faults soak (bench/soak_bot_faults.py), small and with short timeouts: 60
alerts to 30 chats while 30% of the sends fail at random (JSON 500, nginx HTML 502,
connection resets, 429 with retry_after, answers slower than the client's timeout)."""

from __future__ import annotations

from pathlib import Path

from bench.soak_bot_faults import soak
from bot.ingest.backoff import BackoffPolicy
from bot.notify.telegram.sender import RetryPolicy

# Shorter than production only in time: 0.5 s read timeout (20 s in production), late
# answers after 0.8 s, slow ones after 0.2 s; the retry logic is the real one.
QUICK = RetryPolicy(
    read_timeout_s=0.5, timed_out_wait_s=0.2, backoff=BackoffPolicy(base_s=0.05, cap_s=0.5)
)


async def test_every_alert_delivered_and_duplicates_only_from_lost_answers(
    tmp_path: Path,
) -> None:
    figures = await soak(28, 2, tmp_path, seed=11, rate=0.3, retry=QUICK, late_margin_s=0.3)

    assert figures["alerts_queued"] == 60  # a first alert and an escalation per chat
    assert figures["alerts_delivered"] == 60 and figures["lost"] == 0
    assert figures["outbox"] == {"sent": 60}
    assert figures["per_chat_order_kept"]
    injected = figures["faults_injected"]
    # Every kind of fault happened, at about the rate asked for.
    assert set(injected) == {"json500", "html502", "reset", "flood", "late", "slow"}
    assert 0.15 <= figures["fault_share"] <= 0.45
    # Each answer lost after Telegram accepted the message is one duplicate; nothing else is.
    assert figures["duplicates"] == figures["late_answers_injected"] == injected["late"]
    assert figures["sender"]["timed_out"] == injected["late"]
    assert figures["sender"]["retry_after"] == injected["flood"]
    assert figures["flood_limit_429s"] == 0
    assert figures["tracebacks_logged"] == 0, figures["traceback_samples"]

"""Soak: alerts delivered while the Bot API faults 30% of sends (target: every alert
delivered; duplicates only where Telegram accepted a message whose answer was lost).

The production path of ``bench.fanout``: chats subscribed with the default rules, a cascade
over the 1 h threshold, ``AlertEngine.tick`` committing rule states and outbox rows, the
``Sender`` sending through the real PTB ``Bot`` with the app's request backend
(``bot.notify.telegram.request``) to ``FakeBotApi(limits=True)``. Then a second cascade doubles
the totals: every chat gets an escalation too, so each chat has two alerts, in order.

The fake faults ``--rate`` of all send requests at random (seeded), each fault equally
likely: JSON 500, nginx HTML 502, connection reset, 429 with ``retry_after`` 1, "slow"
(accepted and answered after 40% of the read timeout: 8 s, which PTB's 5 s default turned
into a duplicate) and "late" (the message is delivered; the answer comes after the
client's read timeout, so the sender cannot know and sends it again). Telegram has no
idempotency key, so each late answer is exactly one duplicate; any other is a bug.

Figures: alerts queued, chats and alerts delivered, lost, duplicates, late answers
injected, every fault injected by kind, outbox statuses, sender counters, log records with
a traceback, wall time. ``main()`` uses the production ``RetryPolicy`` (20 s read timeout,
late answers after 25 s); the test in tests/ shortens the timeouts through ``RetryPolicy``.

Run: ``python -m bench.soak_bot_faults`` (``--help`` for sizes); about 2 minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.fanout import T0, cascade, subscribe_all
from bot.alerts.liquidations import AlertEngine
from bot.chats import ChatService
from bot.domain import MINUTE_MS
from bot.notify.telegram.render import render_html
from bot.notify.telegram.request import bot_api_requests
from bot.notify.telegram.sender import RetryPolicy, Sender
from bot.totals.index import TotalsIndex
from bot.totals.service import TotalsService
from bot.venues.registry import VENUES
from storage import outbox
from storage.db import DbThread

TOKEN = "3000:bench-faults-token"


class _Tracebacks(logging.Handler):
    """Counts log records that carry a traceback (a traceback in the log means a bug)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info or "Traceback" in record.getMessage():
            self.records.append(f"{record.name}: {record.getMessage()[:200]}")


async def soak(
    private: int,
    groups: int,
    workdir: Path,
    *,
    seed: int = 7,
    rate: float = 0.3,
    retry: RetryPolicy | None = None,
    late_margin_s: float = 5.0,
    slow_s: float | None = None,
) -> dict[str, Any]:
    """One soak run; returns its figures. Late answers come ``late_margin_s`` after the
    policy's read timeout, slow ones after ``slow_s`` (default 40% of it: 8 s in
    production, past PTB's 5 s default)."""
    # Imported here: bench.fakes is only needed when the soak actually runs.
    from telegram import Bot

    from bench.fakes.bot_api import FakeBotApi

    retry = retry or RetryPolicy()
    recipients = [*range(1, private + 1), *(-1_001_000_000 - g for g in range(groups))]
    dbt = DbThread(workdir / f"soak-faults-{time.time_ns()}.db")
    now = T0 + 11 * MINUTE_MS
    await dbt.run(subscribe_all, recipients, now)
    index = TotalsIndex()
    cascade(index)
    tracebacks = _Tracebacks()
    logging.getLogger().addHandler(tracebacks)
    calls, updates = bot_api_requests()
    try:
        async with (
            FakeBotApi(token=TOKEN, limits=True) as fake,
            Bot(TOKEN, fake.base_url, request=calls, get_updates_request=updates) as bot,
        ):
            chaos = fake.faults.chaos(
                rate,
                seed=seed,
                late_s=retry.read_timeout_s + late_margin_s,
                slow_s=slow_s if slow_s is not None else retry.read_timeout_s * 0.4,
            )
            service = ChatService(dbt, {}, now_ms=lambda: now)
            sender = Sender(bot, dbt, chats=service, retry=retry, rng=random.Random(seed))
            engine = AlertEngine(dbt, TotalsService(index, VENUES), sender, now_ms=lambda: now)
            service.attach(engine)
            await engine.load()
            await sender.start()
            started = time.perf_counter()
            rows = await engine.tick()
            cascade(index)  # the totals double: one escalation per chat
            rows += await engine.tick()
            await sender.drain()
            wall = time.perf_counter() - started
            await sender.stop()
            sent = [(m.chat_id, m.text) for m in fake.sent]
            injected = dict(chaos.injected)
            violations = fake.limit_violations
            requests = len(fake.calls_to("sendMessage"))
    finally:
        logging.getLogger().removeHandler(tracebacks)
    stored = await dbt.run(outbox.get, [r.id for r in rows])
    await dbt.close()
    copies = Counter(sent)
    expected = {(r.chat_id, render_html(r)) for r in rows}
    in_order = all(
        _first_order(
            [t for chat, t in sent if chat == c], [render_html(r) for r in rows if r.chat_id == c]
        )
        for c in recipients
    )
    duplicates = sum(n - 1 for n in copies.values())
    late = injected.get("late", 0)
    return {
        "chats": len(recipients),
        "alerts_queued": len(rows),
        "alerts_delivered": len(expected & set(copies)),
        "lost": len(expected - set(copies)),
        "duplicates": duplicates,
        "late_answers_injected": late,
        "slow_answers_injected": injected.get("slow", 0),
        "duplicates_not_explained_by_late_answers": max(0, duplicates - late),
        "duplicate_share": duplicates / len(rows) if rows else 0.0,
        "per_chat_order_kept": in_order,
        "send_requests": requests,
        "faults_injected": injected,
        "fault_share": sum(injected.values()) / requests if requests else 0.0,
        "flood_limit_429s": violations,
        "outbox": dict(Counter(r.status for r in stored)),
        "sender": vars(sender.stats),
        "tracebacks_logged": len(tracebacks.records),
        "traceback_samples": tracebacks.records[:3],
        "read_timeout_s": retry.read_timeout_s,
        "timed_out_wait_s": retry.timed_out_wait_s,
        "wall_s": wall,
    }


def _first_order(received: list[str | None], texts: list[str]) -> bool:
    """The first copies of one chat's ``texts`` arrived in the order they were queued."""
    seen: list[str] = []
    for text in received:
        if text in texts and text not in seen:
            seen.append(text)
    return seen == texts


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the soak with the production retry policy; return its figures."""
    ap = argparse.ArgumentParser(prog="python -m bench.soak_bot_faults", description=__doc__)
    ap.add_argument("--private", type=int, default=290, help="private chats")
    ap.add_argument("--groups", type=int, default=10, help="supergroups")
    ap.add_argument("--rate", type=float, default=0.3, help="share of sends faulted")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)
    # PTB 22 warns on every RetryAfter unless opted in to timedelta values.
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    with tempfile.TemporaryDirectory(prefix="liqwatch-soak-faults-") as tmp:
        return asyncio.run(
            soak(args.private, args.groups, Path(tmp), seed=args.seed, rate=args.rate)
        )


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))

"""The kill -9 soak: the real ``liqwatch run`` as a subprocess, SIGKILLed mid-cascade.

One trial: fresh fakes (Bot API, Binance, Bybit, OKX on 127.0.0.1) and a fresh SQLite file;
``liqwatch run`` starts; chats subscribe and set thresholds, watches, a mute and a /stop
through Telegram commands; a cascade (``bench.fakes.cascade``) streams in the venues' wire
formats while bystander chats keep changing a setting; at a seeded random moment the process
gets SIGKILL and is started again at once on the same file; the cascade finishes; the
outbox drains; the process is stopped with SIGTERM. Then, independently of liqwatch's own
figures: alerts owed (from what the database stored) vs received, duplicates, settings
before/after, and the liquidations the kill lost. Used by ``bench.soak_kill`` (20 trials)
and ``tests/test_soak_kill.py`` (3 short ones).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import sys
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.fakes.bot_api import FakeBotApi
from bench.fakes.cascade import (
    INSTRUMENTS,
    AlertScore,
    Sent,
    Step,
    lost_span_s,
    parse_alert,
    plan_cascade,
    score_alerts,
    stored_totals,
)
from bench.fakes.soak_chats import (
    BYSTANDERS,
    DEFAULT_RULES,
    GROUP,
    RULES,
    bystander,
    bystander_losses,
    read_db,
    settings_snapshot,
    setup_chats,
    wait_until,
)
from bench.fakes.venues import (
    FakeBinance,
    FakeBybit,
    FakeOkx,
    OkxInstrument,
    bybit_liquidation,
    force_order,
    okx_detail,
)

TOKEN = "4242:soak-kill-token"
UNFINISHED = "status IN ('pending', 'sending')"


@dataclass
class Trial:
    """What one trial measured."""

    seed: int
    kill_s: float
    score: AlertScore
    events_sent: int
    events_stored: int
    events_not_collected: int  # sent while nobody was listening
    events_lost_at_kill: int  # delivered before the kill, missing from the database
    lost_span_s: float
    settings_lost: list[str]
    commands_unanswered: int  # bystander commands in flight at the kill, never answered
    accepted_unrecorded: int  # outbox rows Telegram took but the killed process had not marked
    outbox_unfinished: int
    refused_by_telegram: int
    tracebacks: int
    restart_s: float
    elapsed_s: float
    log_problems: list[str] = field(default_factory=list)  # WARNING/ERROR lines, first 10

    @property
    def ok(self) -> bool:
        """Nothing lost, nothing twice, no settings lost, no traceback."""
        s = self.score
        return not (
            s.lost
            or s.duplicates
            or s.unexpected
            or self.settings_lost
            or self.tracebacks
            or self.outbox_unfinished
            or self.refused_by_telegram
        )


@dataclass
class World:
    """The fakes of one trial."""

    telegram: FakeBotApi
    binance: FakeBinance
    bybit: FakeBybit
    okx: FakeOkx
    sent: list[Sent] = field(default_factory=list)
    last_ts: dict[tuple[str, str], int] = field(default_factory=dict)

    def env(self, db: Path) -> dict[str, str]:
        """``liqwatch run``'s environment: only our variables, pointing at the fakes."""
        base = {
            k: v for k, v in os.environ.items() if not k.startswith(("LIQWATCH_", "TELEGRAM_"))
        }
        return base | {
            "PTB_TIMEDELTA": "true",
            "LIQWATCH_DB": str(db),
            "LIQWATCH_DEFAULT_RULES": DEFAULT_RULES,
            "LIQWATCH_FUNDING_POLL_S": "1800",
            "LIQWATCH_LOG_LEVEL": "INFO",
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": self.telegram.base_url,
            "LIQWATCH_BINANCE_WS_URL": self.binance.ws_url("/market"),
            "LIQWATCH_BINANCE_REST_URL": self.binance.http_url(),
            "LIQWATCH_BYBIT_WS_URL": self.bybit.ws_url("/v5/public/linear"),
            "LIQWATCH_BYBIT_REST_URL": self.bybit.http_url(),
            "LIQWATCH_OKX_WS_URL": self.okx.ws_url("/ws/v5/public"),
            "LIQWATCH_OKX_REST_URL": self.okx.http_url(),
        }

    def listening(self) -> bool:
        """Every venue has an open, subscribed socket (the collector is up)."""
        bybit = all(
            self.bybit.subscribed(f"allLiquidation.{s}") for s, _, _ in INSTRUMENTS["bybit"]
        )
        return (
            bool(self.binance.subscribed(FakeBinance.STREAM))
            and bybit
            and bool(self.okx.subscribed(f"{FakeOkx.CHANNEL}:SWAP"))
        )

    def nobody_listening(self) -> bool:
        """No socket of a previous process is still open at any venue."""
        return not (self.binance.clients or self.bybit.clients or self.okx.clients)

    async def send(self, step: Step) -> None:
        """Put one liquidation on the wire now; record when and to how many sockets."""
        now = int(time.time() * 1000)
        ts = max(now, self.last_ts.get((step.venue, step.symbol), 0) + 1)
        self.last_ts[(step.venue, step.symbol)] = ts
        sent_at = time.time()
        if step.venue == "binance":
            side = "SELL" if step.long else "BUY"
            n = await self.binance.push_force_orders(
                [force_order(step.symbol, side, step.size, step.price, ts)]
            )
        elif step.venue == "bybit":
            side = "Buy" if step.long else "Sell"
            n = await self.bybit.push_liquidations(
                step.symbol, [bybit_liquidation(step.symbol, side, step.size, step.price, ts)]
            )
        else:
            pos, side = ("long", "sell") if step.long else ("short", "buy")
            n = await self.okx.push_liquidations(
                step.symbol, [okx_detail(pos, side, step.size, step.price, ts)]
            )
        self.sent.append(Sent(step, ts, sent_at, n))


class Liqwatch:
    """``liqwatch run`` as a child process, its stderr appended to one log file."""

    def __init__(self, world: World, db: Path, log: Path) -> None:
        self.world, self.db, self.log = world, db, log
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self, within: float = 60.0) -> float:
        """Start it and wait until it collects from every venue and starts polling Telegram
        (deleteWebhook comes right before the first getUpdates);
        returns the seconds that took."""
        started = time.monotonic()
        await wait_until(self.world.nobody_listening, 10, "old sockets closed")
        polls = len(self.world.telegram.calls_to("deleteWebhook"))
        with self.log.open("ab") as err:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot.cli",
                "run",
                env=self.world.env(self.db),
                cwd=self.db.parent,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=err,
            )
        telegram, proc = self.world.telegram, self.proc

        def up() -> bool:
            if proc.returncode is not None:
                tail = self.log.read_text(errors="replace")[-500:]
                raise RuntimeError(f"liqwatch exited with {proc.returncode}: {tail}")
            return self.world.listening() and len(telegram.calls_to("deleteWebhook")) > polls

        await wait_until(up, within, "liqwatch up")
        return time.monotonic() - started

    async def kill(self) -> float:
        """SIGKILL (our own child, by its pid); returns the wall time of the signal."""
        assert self.proc is not None
        at = time.time()
        self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()
        return at

    async def stop(self) -> int | None:
        """SIGTERM and wait (SIGKILL after 30 s); the exit code."""
        if self.proc is None or self.proc.returncode is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(self.proc.wait(), 30)
        except TimeoutError:
            self.proc.send_signal(signal.SIGKILL)
            return await self.proc.wait()


async def run_trial(
    seed: int, workdir: Path, duration_s: float = 8.0, steps: int = 160, total_usd: float = 40e6
) -> Trial:
    """One trial (see the module docstring)."""
    rng = random.Random(seed)
    started = time.monotonic()
    bybit = FakeBybit([s for s, _, _ in INSTRUMENTS["bybit"]])
    okx = FakeOkx([OkxInstrument(s, "linear", str(c)) for s, _, c in INSTRUMENTS["okx"]])
    binance = FakeBinance()
    for fake in (binance, bybit, okx):
        await fake.start()
    db, log = workdir / f"trial-{seed}.db", workdir / f"trial-{seed}.log"
    try:
        async with FakeBotApi(token=TOKEN) as telegram:
            world = World(telegram, binance, bybit, okx)
            app = Liqwatch(world, db, log)
            await app.start()
            try:
                trial = await _cascade(world, app, rng, seed, duration_s, steps, total_usd)
            finally:
                await app.stop()
    finally:
        for fake in (binance, bybit, okx):
            await fake.stop()
    logged = log.read_text(errors="replace")
    trial.tracebacks = logged.count("Traceback")
    trial.log_problems = [
        line[:300]
        for line in logged.splitlines()
        if " ERROR " in line or " WARNING " in line
        if "market: " not in line  # the fakes have no funding endpoints: 404 by design
    ][:10]
    trial.refused_by_telegram = len(world.telegram.html_violations)
    for chat_id, text, reason in world.telegram.html_violations:
        trial.score.details.append(f"refused ({reason}) in {chat_id}: {text[:80]!r}")
    trial.events_stored = len(_stored_keys(db))
    trial.elapsed_s = time.monotonic() - started
    return trial


async def _cascade(
    world: World,
    app: Liqwatch,
    rng: random.Random,
    seed: int,
    duration_s: float,
    steps: int,
    total_usd: float,
) -> Trial:
    telegram = world.telegram
    missing = await setup_chats(telegram)
    before = settings_snapshot(app.db)
    group_rules = [r for r in before if r[0] == "rule" and r[1] == GROUP]
    if ("rule", GROUP, "", "1h", 15e6) not in group_rules:
        missing.append(f"a non-admin changed the group's settings: {group_rules}")
    plan = plan_cascade(seed, duration_s, total_usd, steps)
    kill_s = rng.uniform(0.15, 0.6) * duration_s
    t0 = time.monotonic()

    async def stream() -> None:
        for step in plan:
            await asyncio.sleep(max(0.0, t0 + step.at_s - time.monotonic()))
            await world.send(step)

    log: list[tuple[int, float, bool]] = []
    tasks: list[Awaitable[None]] = [stream()]
    tasks += [
        bystander(telegram, b, random.Random(seed * 100 + b), duration_s, log) for b in BYSTANDERS
    ]
    running = asyncio.gather(*tasks)
    await asyncio.sleep(kill_s)
    kill_at = await app.kill()
    # Rows the dead process had not recorded as sent although Telegram had accepted them:
    # the restart must send them again (no idempotency key), so each would arrive twice.
    accepted = {(m.chat_id, m.text) for m in telegram.sent}
    open_rows = read_db(app.db, f"SELECT chat_id, text FROM outbox WHERE {UNFINISHED}")
    at_risk = sum(1 for row in open_rows if row in accepted)
    restart_s = await app.start()
    await running
    await asyncio.sleep(2.0)  # the last flush (200 ms) and alert ticks (1 s)
    unfinished = f"SELECT count(*) FROM outbox WHERE {UNFINISHED}"
    with contextlib.suppress(TimeoutError):  # counted below
        await wait_until(lambda: read_db(app.db, unfinished)[0][0] == 0, 90, "outbox drained")
    await asyncio.sleep(1.5)  # nothing more may be sent
    left = read_db(app.db, unfinished)[0][0]
    failed = read_db(app.db, "SELECT chat_id, reason FROM outbox WHERE status = 'failed'")
    await app.stop()
    stored = _stored_keys(app.db)
    after = settings_snapshot(app.db)
    bystander_rows = {r for r in before | after if r[0] == "rule" and r[3] == "5m"}
    settings_lost = [
        f"changed: {r}" for r in sorted(before ^ after, key=str) if r not in bystander_rows
    ]
    settings_lost += bystander_losses(app.db, log) + missing
    n_lost, span = lost_span_s(world.sent, stored, kill_at)
    totals = stored_totals(world.sent, stored)
    score = score_alerts(RULES, totals, _received(telegram))
    score.details += [f"outbox row failed: chat {c}: {r}" for c, r in failed[:5]]
    return Trial(
        seed=seed,
        kill_s=kill_s,
        score=score,
        events_sent=len(world.sent),
        events_stored=0,
        events_not_collected=sum(1 for s in world.sent if not s.receivers),
        events_lost_at_kill=n_lost,
        lost_span_s=span,
        settings_lost=settings_lost,
        commands_unanswered=sum(1 for *_, ok in log if not ok),
        accepted_unrecorded=at_risk,
        outbox_unfinished=left,
        refused_by_telegram=0,
        tracebacks=0,
        restart_s=restart_s,
        elapsed_s=0.0,
    )


def _received(telegram: FakeBotApi) -> list[Any]:
    out = []
    for m in telegram.sent:
        if isinstance(m.chat_id, int) and m.text and (r := parse_alert(m.chat_id, m.text)):
            out.append(r)
    return out


def _stored_keys(db: Path) -> set[tuple[str, str, int]]:
    return {(v, s, int(t)) for v, s, t in read_db(db, "SELECT venue, symbol, ts_ms FROM events")}


def summarize(trials: list[Trial]) -> dict[str, Any]:
    """The soak's figures over all trials (each says what it counts)."""
    total = AlertScore()
    for t in trials:
        total.add(t.score)
    spans = sorted(t.lost_span_s for t in trials)
    return {
        "trials": len(trials),
        "trials_ok": sum(t.ok for t in trials),
        "alerts_owed": total.owed,
        "alerts_lost": total.lost,
        "alerts_sent_twice": total.duplicates,
        "alerts_unexpected": total.unexpected,
        "alerts_received": total.received,
        "rules_too_close_to_call": total.ambiguous,
        "settings_lost": sum(len(t.settings_lost) for t in trials),
        "bystander_commands_unanswered_at_kill": sum(t.commands_unanswered for t in trials),
        "sends_accepted_but_unrecorded_at_kill": sum(t.accepted_unrecorded for t in trials),
        "outbox_rows_unfinished": sum(t.outbox_unfinished for t in trials),
        "messages_refused_by_telegram": sum(t.refused_by_telegram for t in trials),
        "tracebacks_in_logs": sum(t.tracebacks for t in trials),
        "liquidations_sent": sum(t.events_sent for t in trials),
        "liquidations_not_collected_while_down": sum(t.events_not_collected for t in trials),
        "liquidations_lost_at_kill": sum(t.events_lost_at_kill for t in trials),
        "lost_span_s_max": spans[-1] if spans else 0.0,
        "lost_span_s_median": spans[len(spans) // 2] if spans else 0.0,
        "restart_s_max": max((t.restart_s for t in trials), default=0.0),
        "problems": [
            f"seed {t.seed}: {d}"
            for t in trials
            if not t.ok
            for d in t.score.details + t.settings_lost + t.log_problems
        ][:40],
    }

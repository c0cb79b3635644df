"""Benchmark: the alert engine's tick for 10,000 subscribed chats, totals queries included
(target: evaluation <= 10 ms per tick).

Subscribers are stored through ``storage.chats`` like ``bench.rules_eval`` builds them:
every chat has the default market rules (1h=100M, 24h=1B), a fifth with their own market
thresholds instead, 40 % also watch 1-5 coins (Zipf-like popularity over 150 coins,
windows weighted toward 1h). The warm ``TotalsIndex`` holds 26 hours of sparse minute
buckets (150 coins x 3 venues x 2 sides); each tick feeds ~30 s of new liquidations and
advances the clock 30 s, with a cascade every two simulated hours, so rules fire,
escalate, re-arm and fire again. Timed per tick: ``last_eval_ms`` (one index query per
window + ``Evaluator.tick``) and ``last_tick_ms`` (also formatting and the commit of rule
states and outbox rows on the DB thread).

Run: ``python -m bench.alert_tick`` (``--help`` for sizes). ``main()`` returns the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from bench.rules_eval import MARKET_CHOICES, ROUND_THRESHOLDS, WINDOW_WEIGHTS
from bot.alerts.liquidations import AlertEngine
from bot.domain import HOUR_MS, MINUTE_MS, BucketDelta, BucketKey, BucketRow, RuleSpec
from bot.totals.index import TotalsIndex
from bot.totals.service import TotalsService
from bot.units import RULE_WINDOWS
from bot.venues.registry import VENUES
from storage import chats
from storage.db import DbThread

M = 1_000_000.0
T0 = 1_795_000_000_000 // HOUR_MS * HOUR_MS
HISTORY_H = 26
STEP_MS = 30_000


def coin_names(coins: int) -> list[str]:
    names = [f"C{i}" for i in range(coins)]
    names[:5] = ["BTC", "ETH", "SOL", "XRP", "DOGE"]
    return names


def subscribe(db: Database, n: int, names: list[str], seed: int) -> int:
    """Store ``n`` chats and their rules (one transaction); returns the rule count."""
    rng = random.Random(seed)
    popularity = [1 / (rank + 1) ** 1.1 for rank in range(len(names))]
    rules = 0
    with db.atomic():
        for chat_id in range(1, n + 1):
            result = chats.subscribe(
                db, chat_id, "private", "", {"1h": 100 * M, "24h": 1000 * M}, T0
            )
            rules += len(result.rules)
            if rng.random() < 0.2:
                for window in ("1h", "24h"):
                    thr = rng.choice(MARKET_CHOICES[window]) * M
                    chats.set_rule(db, chat_id, RuleSpec(window, thr))
            if rng.random() < 0.4:
                for coin in set(rng.choices(names, popularity, k=rng.randint(1, 5))):
                    window = rng.choices(RULE_WINDOWS, WINDOW_WEIGHTS)[0]
                    thr = float(rng.choice(ROUND_THRESHOLDS)) * M
                    chats.set_watch(db, chat_id, RuleSpec(window, thr, coin), 30)
                    rules += 1
    return rules


class Market:
    """Liquidations per minute: a quiet base with Zipf coin weights, plus cascades."""

    def __init__(self, names: list[str], seed: int) -> None:
        self.rng = random.Random(seed)
        self.names = names
        self.weights = [1 / (rank + 1) ** 1.1 for rank in range(len(names))]

    def minute(self, minute_ms: int, usd: float, active: int) -> list[BucketRow]:
        rows: list[BucketRow] = []
        picks = self.rng.choices(self.names, self.weights, k=active)
        for coin in picks:
            venue = self.rng.choice(VENUES)
            side = "long" if self.rng.random() < 0.6 else "short"
            amount = usd / active * self.rng.uniform(0.2, 1.8)
            ts = minute_ms + self.rng.randrange(MINUTE_MS)
            rows.append((minute_ms, venue, coin, side, amount, 1, amount, ts, f"{coin}USDT"))
        return rows

    @staticmethod
    def surge(t_ms: int) -> float:
        """Market multiplier: 1 most of the time, up to 40x in a 20-minute cascade every 2 h."""
        phase = (t_ms - T0) % (2 * HOUR_MS) / MINUTE_MS
        return 1 + 39 * max(0.0, 1 - abs(phase - 10) / 10)


def deltas(rows: list[BucketRow]) -> dict[BucketKey, BucketDelta]:
    out: dict[BucketKey, BucketDelta] = {}
    for minute, venue, coin, side, usd, count, max_usd, max_ts, symbol in rows:
        key = (minute, venue, coin, side)
        d = out.get(key)
        if d is None:
            out[key] = BucketDelta(usd, count, max_usd, max_ts, symbol)
        else:
            d.usd += usd
            d.count += count
            if max_usd > d.max_usd:
                d.max_usd, d.max_ts, d.max_symbol = max_usd, max_ts, symbol
    return out


async def one_run(chat_count: int, coins: int, ticks: int, seed: int, workdir: Path) -> Any:
    names = coin_names(coins)
    dbt = DbThread(workdir / f"alert-tick-{seed}-{time.time_ns()}.db")
    rules = await dbt.run(subscribe, chat_count, names, seed)
    market = Market(names, seed)
    index = TotalsIndex()
    start = T0 - HISTORY_H * HOUR_MS
    history: list[BucketRow] = []
    for minute in range(start, T0, MINUTE_MS):
        history += market.minute(minute, 0.7 * M, 60)
    index.load(history)
    clock = [T0]
    engine = AlertEngine(dbt, TotalsService(index, VENUES), now_ms=lambda: clock[0])
    await engine.load()
    evals: list[float] = []
    cpu: list[float] = []
    whole: list[float] = []
    for _ in range(ticks):
        t = clock[0]
        minute = t // MINUTE_MS * MINUTE_MS
        usd = 0.35 * M * market.surge(t)  # half a minute's worth
        index.apply(deltas(market.minute(minute, usd, 30)))
        clock[0] = t + STEP_MS
        await engine.tick()
        evals.append(engine.stats.last_eval_ms)
        cpu.append(engine.stats.last_eval_cpu_ms)
        whole.append(engine.stats.last_tick_ms)
    await dbt.close()
    evals.sort()
    cpu.sort()
    whole.sort()
    return {
        "rules": rules,
        "groups": engine.evaluator.group_count,
        "keys": len(engine.evaluator.keys()),
        "alerts": engine.stats.alerts,
        "messages": engine.stats.messages,
        "eval_median_ms": statistics.median(evals),
        "eval_p99_ms": evals[int(len(evals) * 0.99)],
        "eval_max_ms": evals[-1],
        "eval_cpu_median_ms": statistics.median(cpu),
        "eval_cpu_p99_ms": cpu[int(len(cpu) * 0.99)],
        "tick_median_ms": statistics.median(whole),
        "tick_p99_ms": whole[int(len(whole) * 0.99)],
        "tick_max_ms": whole[-1],
    }


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the scenario; return per-figure medians over runs."""
    ap = argparse.ArgumentParser(prog="python -m bench.alert_tick", description=__doc__)
    ap.add_argument("--chats", type=int, default=10_000)
    ap.add_argument("--coins", type=int, default=150)
    ap.add_argument("--ticks", type=int, default=600, help="ticks per run (30 s simulated each)")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="liqwatch-alert-tick-") as tmp:
        runs = [
            asyncio.run(one_run(args.chats, args.coins, args.ticks, seed, Path(tmp)))
            for seed in range(args.runs)
        ]
    out: dict[str, Any] = {"target_eval_ms": 10.0, "chats": args.chats, "runs": args.runs}
    out.update({k: statistics.median(r[k] for r in runs) for k in runs[0]})
    out["eval_max_worst_run_ms"] = max(r["eval_max_ms"] for r in runs)
    return out


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))

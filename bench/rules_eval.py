"""Benchmark: one rules tick for 10,000 subscribed chats (target: <= 10 ms per tick).

Subscribers: every chat has the two market-wide default rules (1h=100M, 24h=1B), a fifth
of them with their own market thresholds instead; 40 % also watch 1-5 coins (Zipf-like
popularity over 150 coins, thresholds from round values with 5 % arbitrary amounts,
windows weighted toward 1h). That gives ~32,000 (chat, rule) entries.

Totals: every key moves each tick as a random walk; every 150 ticks a cascade multiplies
them up to 6x over 30 ticks and lets them decay again, so groups fire, escalate, split,
re-arm and merge. Timed: ``Evaluator.tick`` (the caller's totals queries are not part of
it). Also timed for comparison: one plain ``evaluate()`` per entry, no grouping.

Run: ``python -m bench.rules_eval`` (``--help`` for sizes). ``main()`` returns the figures.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from collections.abc import Sequence
from typing import Any

from bot.alerts.rules import Evaluator, evaluate
from bot.domain import RuleSpec, RuleState, TotalsKey
from bot.units import RULE_WINDOWS

M = 1_000_000.0
ROUND_THRESHOLDS = (1, 2, 5, 10, 20, 25, 50, 100, 250, 500)
MARKET_CHOICES = {"1h": (50, 100, 150, 200, 250, 500), "24h": (500, 1000, 2000, 3000)}
WINDOW_WEIGHTS = (0.05, 0.1, 0.45, 0.2, 0.05, 0.15)  # over RULE_WINDOWS


def build(chats: int, coins: int, rng: random.Random) -> tuple[Evaluator, list[Any]]:
    """Subscribe ``chats`` chats; returns the evaluator and (entry, spec) pairs."""
    names = [f"C{i}" for i in range(coins)]
    popularity = [1 / (rank + 1) ** 1.1 for rank in range(coins)]
    ev = Evaluator()
    entries: list[Any] = []
    for chat in range(chats):
        custom = rng.random() < 0.2
        for window, default in (("1h", 100.0), ("24h", 1000.0)):
            thr = rng.choice(MARKET_CHOICES[window]) if custom else default
            entries.append(((chat, f"market:{window}"), RuleSpec(window, thr * M)))
        if rng.random() < 0.4:
            for coin in set(rng.choices(names, popularity, k=rng.randint(1, 5))):
                window = rng.choices(RULE_WINDOWS, WINDOW_WEIGHTS)[0]
                if rng.random() < 0.05:
                    thr = round(rng.uniform(0.5, 300), 1)
                else:
                    thr = float(rng.choice(ROUND_THRESHOLDS))
                entries.append(((chat, f"coin:{coin}"), RuleSpec(window, thr * M, coin)))
    for entry, spec in entries:
        ev.set(entry, spec)
    return ev, entries


def base_totals(keys: set[TotalsKey], rng: random.Random) -> dict[TotalsKey, float]:
    """Quiet-market totals per key, mostly below the usual thresholds."""
    out = {}
    for coin, window in keys:
        hours = {"5m": 1 / 12, "15m": 0.25, "1h": 1, "4h": 4, "12h": 12, "24h": 24}[window]
        scale = 40 * M if coin is None else 3 * M / (1 + int(coin[1:])) ** 0.8
        out[(coin, window)] = scale * hours**0.7 * rng.uniform(0.5, 1.5)
    return out


def one_run(chats: int, coins: int, ticks: int, seed: int) -> dict[str, float]:
    """Build the subscribers, run ``ticks`` ticks; returns this run's figures."""
    rng = random.Random(seed)
    ev, entries = build(chats, coins, rng)
    base = base_totals(ev.keys(), rng)
    walk = dict.fromkeys(base, 1.0)
    times: list[float] = []
    cpu: list[float] = []  # CPU time too: wall time suffers on a shared machine
    fires = 0
    fanned = 0
    max_groups = 0
    for tick in range(ticks):
        phase = tick % 150
        surge = 1 + 5 * max(0.0, 1 - abs(phase - 30) / 30)  # 1 -> 6 -> 1 over 60 ticks
        for key in walk:
            walk[key] = min(max(walk[key] * rng.uniform(0.97, 1.03), 0.3), 3.0)
        totals = {key: base[key] * walk[key] * surge for key in base}
        c, t = time.process_time(), time.perf_counter()
        alerts = ev.tick(totals, now_ms=tick * 200)
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
        ev.take_changed()
        fires += len(alerts)
        fanned += sum(len(a.entries) for a in alerts)
        max_groups = max(max_groups, ev.group_count)
    naive: list[float] = []
    states = {entry: RuleState() for entry, _ in entries}
    for tick in range(5):
        totals = {key: base[key] * (1 + tick) for key in base}
        t = time.perf_counter()
        for entry, spec in entries:
            states[entry] = evaluate(states[entry], totals[spec.key], spec.threshold, tick)[0]
        naive.append(time.perf_counter() - t)
    times.sort()
    cpu.sort()
    return {
        "entries": len(ev),
        "keys": len(base),
        "groups_end": ev.group_count,
        "groups_max": max_groups,
        "alerts": fires,
        "alert_deliveries": fanned,
        "tick_median_ms": statistics.median(times) * 1000,
        "tick_p99_ms": times[int(len(times) * 0.99)] * 1000,
        "tick_max_ms": times[-1] * 1000,
        "tick_cpu_p99_ms": cpu[int(len(cpu) * 0.99)] * 1000,
        "tick_cpu_max_ms": cpu[-1] * 1000,
        "naive_tick_median_ms": statistics.median(naive) * 1000,
    }


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the scenario several times; print and return per-figure medians."""
    ap = argparse.ArgumentParser(prog="python -m bench.rules_eval", description=__doc__)
    ap.add_argument("--chats", type=int, default=10_000)
    ap.add_argument("--coins", type=int, default=150)
    ap.add_argument("--ticks", type=int, default=600, help="ticks per run (200 ms each)")
    ap.add_argument("--runs", type=int, default=5, help="repetitions; medians are reported")
    args = ap.parse_args(argv)
    runs = [one_run(args.chats, args.coins, args.ticks, seed) for seed in range(args.runs)]
    out: dict[str, Any] = {"target_tick_ms": 10.0, "chats": args.chats, "runs": args.runs}
    out.update({k: statistics.median(r[k] for r in runs) for k in runs[0]})
    out["tick_max_worst_run_ms"] = max(r["tick_max_ms"] for r in runs)
    return out


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))

"""Benchmark: reconnect backoff under venue faults (issue 7: at least 80 % connected while
a venue drops us every 5 s; a 25 s outage costs little more than 25 s of data).

Two figures:

* ``storm``: the real FeedRunner against a fake Binance on loopback that cuts every socket
  every 5 s while a liquidation arrives every 20 ms, for 100 s, timed at 1/5 scale (every
  duration and the backoff divided by 5: drops every 1 s for 20 s). Connected fraction =
  share of the storm the venue was live, from its recorded gaps; for the feed policy and,
  as the control, the rule before issue 7 (doubling from 1 s, reset only after 30 s up).
* ``outage_25s``: seeded simulation of the backoff alone after a data session, with
  connects refused at once until the venue is back after 25 s: the seconds lost beyond
  the 25 s (mean and 95th percentile over the trials), for both policies.

Run: ``python -m bench.reconnect`` (about 45 s). ``main()`` returns the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import aiohttp

from bench.fakes.drop_storm import storm
from bot.ingest.backoff import FEED_BACKOFF, Backoff, BackoffPolicy

OLD_RULE = BackoffPolicy(base_s=1.0, cap_s=60.0, healthy_s=30.0, factor=2.0, proven_s=1e9)
SCALE = 5.0


def scaled(policy: BackoffPolicy) -> BackoffPolicy:
    """``policy`` with every duration divided by ``SCALE``."""
    return replace(
        policy,
        base_s=policy.base_s / SCALE,
        cap_s=policy.cap_s / SCALE,
        healthy_s=policy.healthy_s / SCALE,
        proven_s=policy.proven_s / SCALE,
    )


def outage_cost(
    policy: BackoffPolicy, outage_s: float, trials: int, seed: int
) -> dict[str, float]:
    """Seconds lost beyond ``outage_s`` (mean, p95) over seeded trials."""
    extra = []
    for trial in range(trials):
        backoff, t = Backoff(policy, random.Random(seed + trial)), 0.0
        while t < outage_s:
            t += backoff.next_delay()
        extra.append(t - outage_s)
    extra.sort()
    return {
        "mean_extra_s": round(statistics.fmean(extra), 2),
        "p95_extra_s": round(extra[int(0.95 * len(extra))], 2),
    }


async def storms(drop_every_s: float, duration_s: float) -> dict[str, Any]:
    """Connected fraction of the feed policy and of the old rule in the same storm."""
    out: dict[str, Any] = {}
    async with aiohttp.ClientSession() as session:
        for name, policy in (("feed_policy", FEED_BACKOFF), ("old_rule", OLD_RULE)):
            result = await storm(session, scaled(policy), drop_every_s / SCALE, duration_s / SCALE)
            out[name] = {
                "connected_fraction": round(result.connected_fraction, 3),
                "connections": result.handshakes,
            }
    return out


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the storm and the outage simulation; return the figures."""
    ap = argparse.ArgumentParser(prog="python -m bench.reconnect", description=__doc__)
    ap.add_argument("--drop-every", type=float, default=5.0, help="seconds (unscaled)")
    ap.add_argument("--duration", type=float, default=100.0, help="seconds (unscaled)")
    ap.add_argument("--trials", type=int, default=2000)
    args = ap.parse_args(argv)
    return {
        "target_connected_fraction": 0.8,
        "storm": {
            "drop_every_s": args.drop_every,
            "duration_s": args.duration,
            "time_scale": f"1/{SCALE:g}",
            **asyncio.run(storms(args.drop_every, args.duration)),
        },
        "outage_25s": {
            "trials": args.trials,
            "feed_policy": outage_cost(FEED_BACKOFF, 25.0, args.trials, 1),
            "old_rule": outage_cost(OLD_RULE, 25.0, args.trials, 1),
        },
    }


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))

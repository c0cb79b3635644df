"""Soak: kill -9 at random moments during a liquidation cascade (issue 7's reliability figure).

Each of ``--trials`` trials (default 20) runs the real ``liqwatch run`` as a subprocess
against a fake Bot API and fake Binance/Bybit/OKX feeds on 127.0.0.1, sets up chats with
Telegram commands, streams an 8 s cascade of 160 liquidations (about $40M, crossing the
chats' thresholds and their doublings), SIGKILLs the process at a seeded random moment,
starts it again at once on the same SQLite file, lets the cascade finish and the outbox
drain. The harness and its definitions of "lost" are in ``bench/fakes/kill_soak.py`` and
``bench/fakes/cascade.py``: alerts are owed on what the database stored (a liquidation sent
while liqwatch was dead was never collected), computed independently from the wire values.

Run: ``python -m bench.soak_kill [--trials N] [--seed S]``. ``main()`` returns the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any


async def _soak(trials: int, seed: int, workdir: Path) -> dict[str, Any]:
    # Imported here: the fakes are only needed when the benchmark runs.
    from bench.fakes.kill_soak import Trial, run_trial, summarize

    done: list[Trial] = []
    for k in range(trials):
        trial = await run_trial(seed + k, workdir)
        done.append(trial)
        print(
            f"   trial {k + 1}/{trials} seed {trial.seed}: kill at {trial.kill_s:.2f} s,"
            f" owed {trial.score.owed} lost {trial.score.lost} twice {trial.score.duplicates},"
            f" {trial.events_lost_at_kill} liquidations lost ({trial.lost_span_s:.3f} s),"
            f" {'ok' if trial.ok else 'PROBLEM'} ({trial.elapsed_s:.0f} s)",
            flush=True,
        )
    return summarize(done)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the trials; return the figures."""
    ap = argparse.ArgumentParser(prog="python -m bench.soak_kill", description=__doc__)
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    with tempfile.TemporaryDirectory(prefix="liqwatch-soak-kill-") as tmp:
        figures = asyncio.run(_soak(args.trials, args.seed, Path(tmp)))
    return {"goal": "0 lost, 0 twice, 0 settings lost, lost span <= 1 s", **figures}


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))

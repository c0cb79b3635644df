"""Ingest throughput: replay text -> parsed events -> committed SQLite rows, on one core.

Each run is a fresh subprocess pinned to one CPU (so generating the file, or an earlier
run, never counts towards its memory) replaying the cached 1,000,000-event file at speed 0
into a new database, committing inline on its own thread. Reported: median events/s over
wall time and over the process's CPU time (the honest figure when other work shares the
machine), peak RSS, one run through the live path (DbThread + async flush), and the CPU
cost per event of each stage measured alone (``stages``).

``python -m bench.ingest [--profile]``; ``--profile`` prints the top cProfile entries.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import itertools
import json
import os
import platform
import pstats
import resource
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from bench.generate import GENERATOR_VERSION, generate
from bot.config import Settings
from bot.ingest.aggregate import bucket_deltas
from bot.ingest.ingestor import Ingestor
from bot.ingest.replay import ReplayStats, replay
from bot.venues import make_source
from bot.venues.base import VenueSource
from bot.venues.registry import VENUES
from storage.buckets import write_batch
from storage.db import DbThread, open_db

EVENTS = 1_000_000
RUNS = 3
TARGET_EVENTS_PER_S = 100_000
TARGET_PEAK_MB = 200
STAGE_LINES = 200_000
STAGE_BATCH = 20_000  # the replay's max_batch
OUT = Path(__file__).parent / "out"


def replay_file(events: int = EVENTS, seed: int = 1) -> Path:
    """The cached replay file for ``events`` (generated on first use)."""
    path = OUT / f"replay-{events}-s{seed}-v{GENERATOR_VERSION}.jsonl"
    if not path.exists():
        print(f"generating {path} ...", flush=True)
        generate(path, events, seed)
    return path


def _sources() -> dict[str, VenueSource]:
    settings = Settings()
    return {name: make_source(name, settings) for name in VENUES}


def _fresh_db_path(name: str) -> Path:
    path = OUT / name
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return path


async def _replay_threaded(path: Path, db_path: Path) -> ReplayStats:
    dbt = DbThread(db_path)
    try:
        return await replay(path, _sources(), Ingestor(dbt))
    finally:
        await dbt.close()


def child(path: Path, threaded: bool, profile: bool) -> dict[str, Any]:
    """One measured run (inside the subprocess)."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    db_path = _fresh_db_path("ingest-threaded.db" if threaded else "ingest.db")
    profiler = cProfile.Profile() if profile else None
    cpu0 = time.process_time()
    # gc.freeze() once set up, as bot/app.py does after start-up: what lives as long as
    # the process stays out of the collector's scans (~5 % of the ingest CPU measured).
    if threaded:
        gc.freeze()
        stats = asyncio.run(_replay_threaded(path, db_path))
    else:
        db = open_db(db_path)
        sources = _sources()
        gc.freeze()
        if profiler:
            profiler.enable()
        stats = asyncio.run(replay(path, sources, Ingestor(None), db=db))
        if profiler:
            profiler.disable()
        db.close()
    cpu_s = time.process_time() - cpu0
    with sqlite3.connect(db_path) as check:
        rows = check.execute("SELECT count(*) FROM events").fetchone()[0]
        bucketed = check.execute("SELECT sum(count) FROM minute_buckets").fetchone()[0]
    if profiler:
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(20)
    return {
        "events": stats.committed,
        "rows": rows,
        "bucketed": bucketed,
        "rejects": stats.rejects,
        "malformed": stats.malformed,
        "wall_s": stats.elapsed_s,
        "cpu_s": cpu_s,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _median_cpu_us(fn: Callable[[], object], events: int, repeat: int = 3) -> float:
    runs = []
    for _ in range(repeat):
        cpu0 = time.process_time()
        fn()
        runs.append(time.process_time() - cpu0)
    return round(statistics.median(runs) / events * 1e6, 2)


def stages(path: Path, lines: int = STAGE_LINES) -> dict[str, float]:
    """CPU µs per event of each stage alone, over the first ``lines`` lines of ``path``.

    ``line_decode`` and ``parse`` (which includes ``message_decode``, the bare orjson
    decode of the venue message) are what the replay does per line. A full run costs
    more than the sum: the replay loop's bookkeeping, the garbage collector, and the
    stages evicting each other's data from the CPU caches when interleaved.
    """
    with path.open("rb") as f:
        raw = list(itertools.islice(f, lines))
    sources = _sources()
    messages = []
    for record in map(orjson.loads, raw):
        source = sources[record["venue"]]
        if "ws" in record:
            messages.append((source.parse, record["ws"]))
        else:
            source.on_rest(record["rest"], record["body"])
    events = [e for parse, ws in messages for e in parse(ws).events]
    batches = [events[i : i + STAGE_BATCH] for i in range(0, len(events), STAGE_BATCH)]
    deltas = [bucket_deltas(batch) for batch in batches]

    def write() -> float:
        db = open_db(_fresh_db_path("ingest-stages.db"))
        cpu0 = time.process_time()
        for batch, delta in zip(batches, deltas, strict=True):
            write_batch(db, batch, delta)
        cpu_s = time.process_time() - cpu0
        db.close()
        return cpu_s

    def each(fn: Callable[[Any], object], items: list[Any]) -> Callable[[], None]:
        def run() -> None:
            for item in items:
                fn(item)  # results dropped at once, as the replay loop drops them

        return run

    def parse_all() -> None:
        for parse, ws in messages:
            parse(ws)

    n = len(events)
    return {
        "line_decode": _median_cpu_us(each(orjson.loads, raw), n),
        "message_decode": _median_cpu_us(each(orjson.loads, [ws for _, ws in messages]), n),
        "parse": _median_cpu_us(parse_all, n),
        "aggregate": _median_cpu_us(each(bucket_deltas, batches), n),
        "write": round(statistics.median(write() for _ in range(3)) / n * 1e6, 2),
    }


def _spawn(path: Path, *flags: str) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-m", "bench.ingest", "--child", str(path), *flags],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"ingest child failed: {proc.stderr[-2000:]}")
    if proc.stderr:
        print(proc.stderr, file=sys.stderr)
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def _machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{model}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}, load {os.getloadavg()[0]:.1f}"
    )


def main(runs: int = RUNS, profile: bool = False) -> dict[str, Any]:
    """Measure ingest throughput and peak memory; returns the figures."""
    path = replay_file()
    results = [_spawn(path) for _ in range(runs)]
    if profile:
        _spawn(path, "--profile")
    threaded = _spawn(path, "--threaded")
    for r in [*results, threaded]:
        if r["rows"] != r["events"] or r["bucketed"] != r["events"]:
            raise RuntimeError(f"committed rows do not match events: {r}")
    eps_wall = statistics.median(r["events"] / r["wall_s"] for r in results)
    eps_cpu = statistics.median(r["events"] / r["cpu_s"] for r in results)
    peak = max(r["peak_mb"] for r in results)
    return {
        "machine": _machine(),
        "file": f"{path.name} ({path.stat().st_size / 1e6:.0f} MB)",
        "events": results[0]["events"],
        "runs": runs,
        "events_per_s_wall_median": round(eps_wall),
        "events_per_s_cpu_median": round(eps_cpu),
        "events_per_s_runs": [round(r["events"] / r["wall_s"]) for r in results],
        "peak_rss_mb": round(peak, 1),
        "cpu_us_per_event": round(1e6 / eps_cpu, 2),
        "stages_cpu_us_per_event": stages(path),
        "threaded_events_per_s_wall": round(threaded["events"] / threaded["wall_s"]),
        "threaded_peak_rss_mb": round(threaded["peak_mb"], 1),
        "target_events_per_s": TARGET_EVENTS_PER_S,
        "target_peak_mb": TARGET_PEAK_MB,
        "meets_throughput": eps_wall >= TARGET_EVENTS_PER_S,
        "meets_memory": peak <= TARGET_PEAK_MB,
    }


def _cli() -> None:
    parser = argparse.ArgumentParser(description="ingest benchmark")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--threaded", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--profile", action="store_true", help="print a cProfile of one run")
    parser.add_argument("--runs", type=int, default=RUNS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(child(args.child, args.threaded, args.profile)))
    else:
        print(json.dumps(main(args.runs, args.profile), indent=2))


if __name__ == "__main__":
    _cli()

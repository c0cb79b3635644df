"""Benchmark: alert latency, from the websocket message whose liquidation crossed a threshold
to the ``sendMessage`` request reaching the Bot API (target: <= 1 s at the 99th percentile).

The real ``liqwatch run`` (``bot.app.run_forever``: feeds, ingest flushing every 200 ms, the
alert engine ticking after each flush and every second, the paced sender) runs against a
fake Binance on loopback and ``FakeBotApi(limits=True)``. Chats ``1..N`` subscribe with
``/start`` (no default rules) and ``/threshold 1h`` set to a ladder $100M + k x $1M (all
below 2 x $100M, so no escalation interferes). After a $99.5M base, each trial pushes one
$1M force order: the 1 h total crosses exactly the next chat's threshold. Latency = the
fake Bot API's receipt of that chat's alert minus the moment just before the frame was
written to the websocket (same monotonic clock). Trials are spaced 0.3-0.7 s apart at
random, so they land at every phase of the flush and tick timers.

Run: ``python -m bench.alert_latency`` (``--help``). ``main()`` returns the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bench.fakes.bot_api import FakeBotApi

TOKEN = "2000:bench-latency-token"
BASE_USD = 99_500_000
STEP_USD = 1_000_000
PRICE = 50_000


async def _wait(predicate: Callable[[], bool], within: float) -> None:
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("benchmark setup timed out")
        await asyncio.sleep(0.01)


def threshold(chat_id: int) -> int:
    """Chat k's 1 h threshold: $99M + k x $1M, crossed by the k-th step above the base."""
    return BASE_USD - STEP_USD // 2 + chat_id * STEP_USD


def replied(telegram: FakeBotApi, chats: Sequence[int], count: int) -> bool:
    return all(len(telegram.texts(c)) >= count for c in chats)


def alerts(telegram: FakeBotApi, chat_id: int) -> list[str]:
    return [t for t in telegram.texts(chat_id) if t and t.startswith("🚨")]


def alerted(telegram: FakeBotApi, chat_id: int) -> bool:
    return alert_at(telegram, chat_id) is not None


def alert_at(telegram: FakeBotApi, chat_id: int) -> float | None:
    """When the fake received the first alert request to ``chat_id``."""
    for call in telegram.calls_to("sendMessage"):
        text = call.params.get("text") or ""
        if call.params.get("chat_id") == chat_id and text.startswith("🚨"):
            return call.at
    return None


async def one_run(trials: int, seed: int, workdir: Path) -> dict[str, Any]:
    """Start the app, subscribe ``trials`` chats, cross one threshold per trial."""
    # Imported here: the fakes and the app are only needed when the benchmark runs.
    from bench.fakes.bot_api import FakeBotApi
    from bench.fakes.venues import FakeBinance, force_order
    from bot.app import run_forever
    from bot.config import Settings

    rng = random.Random(seed)
    binance = FakeBinance()
    await binance.start()
    async with FakeBotApi(token=TOKEN, limits=True) as telegram:
        settings = Settings.from_env(
            {
                "LIQWATCH_DB": str(workdir / f"latency-{seed}-{time.time_ns()}.db"),
                "LIQWATCH_EXCHANGES": "binance",
                "LIQWATCH_BINANCE_WS_URL": binance.ws_url("/market"),
                "LIQWATCH_BINANCE_REST_URL": binance.http_url(),
                "LIQWATCH_DEFAULT_RULES": "off",
                "TELEGRAM_BOT_TOKEN": TOKEN,
                "TELEGRAM_API_URL": telegram.base_url,
            }
        )
        stop = asyncio.Event()
        app = asyncio.create_task(run_forever(settings, stop))
        await _wait(lambda: bool(binance.subscribed(FakeBinance.STREAM)), 15)
        chats = list(range(1, trials + 1))
        # Command replies go straight through PTB, not the paced sender: at most 20 chats a
        # second and one command per chat a second keep them inside the fake's limits.
        for command in ("/start", "/threshold 1h {}"):
            for lo in range(0, trials, 20):
                batch = chats[lo : lo + 20]
                for chat_id in batch:
                    telegram.push_command(chat_id, command.format(threshold(chat_id)))
                count = 1 if command == "/start" else 2
                await _wait(partial(replied, telegram, batch, count), 30)
                await asyncio.sleep(1.1)

        now_ms = int(time.time() * 1000)
        qty = BASE_USD / PRICE
        await binance.push_force_orders(
            [force_order("BTCUSDT", "SELL", f"{qty}", f"{PRICE}", now_ms)]
        )
        await asyncio.sleep(1.5)  # the base is ingested; nobody is crossed yet
        latencies: list[float] = []
        for chat_id in chats:
            await asyncio.sleep(rng.uniform(0.3, 0.7))
            order = force_order(
                "BTCUSDT", "SELL", f"{STEP_USD / PRICE}", f"{PRICE}", int(time.time() * 1000)
            )
            pushed = time.monotonic()
            await binance.push_force_orders([order])
            await _wait(partial(alerted, telegram, chat_id), 10)
            latencies.append((alert_at(telegram, chat_id) or 0.0) - pushed)
        await asyncio.sleep(1.5)  # a few more ticks: nothing may fire twice
        wrong = [c for c in chats if len(alerts(telegram, c)) != 1]
        stop.set()
        await asyncio.wait_for(app, 30)
    await binance.stop()
    latencies.sort()
    return {
        "trials": trials,
        "latency_median_ms": statistics.median(latencies) * 1000,
        "latency_p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        "latency_max_ms": latencies[-1] * 1000,
        "chats_not_alerted_exactly_once": len(wrong),
        "http_429": telegram.limit_violations,
    }


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the trials; return the figures."""
    ap = argparse.ArgumentParser(prog="python -m bench.alert_latency", description=__doc__)
    ap.add_argument("--trials", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    with tempfile.TemporaryDirectory(prefix="liqwatch-latency-") as tmp:
        figures = asyncio.run(one_run(args.trials, args.seed, Path(tmp)))
    out: dict[str, Any] = {"target_p99_ms": 1000.0, **figures}
    return out


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))

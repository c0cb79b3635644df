"""Benchmark: one funding / open-interest cycle parsed and stored (target <= 200 ms CPU).

Responses are generated in each venue's documented shape (all fields a real answer
carries, realistic magnitudes): Binance ``premiumIndex`` for ~500 symbols (plus dated
futures to skip), ``fundingInfo`` (adjusted symbols) and 40 per-symbol ``openInterest``
bodies; Bybit ``tickers?category=linear`` for ~600 symbols (some without
``fundingIntervalHour``, intervals then from ``instruments-info``); OKX ``funding-rate``,
``open-interest`` and ``mark-price`` for ~300 swaps. Coins overlap across venues as in
reality (majors everywhere, a long tail on one or two venues).

One cycle = what ``MarketPoller.poll_once`` does after the bodies arrived: every parser,
the merge, ``MarketState.apply`` + ``coins()`` (per-coin aggregates) and ``write_market``
(one transaction) into a real SQLite file that already holds ``--history-hours`` of
polls. Timed with ``time.process_time`` (CPU of the process, DB work included: it runs
on this thread here). Medians of ``--runs`` cycles.

Run: ``python -m bench.funding_poll``. ``main()`` returns the figures.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.domain import HOUR_MS, MINUTE_MS, MarketSnapshot
from bot.market.state import MarketState
from bot.venues.binance import market as binance
from bot.venues.bybit import market as bybit
from bot.venues.intervals import IntervalTracker
from bot.venues.okx import market as okx
from bot.venues.symbols import CoinCache
from storage.db import open_db
from storage.market import resolution_at, write_market

T0 = 1_791_590_400_000
MAJORS = ["BTC", "ETH", "SOL", "XRP", "DOGE", "BNB", "ADA", "AVAX", "LINK", "SUI", "TON"]


@dataclass
class Bodies:
    """One cycle's recorded response texts."""

    premium: str
    funding_info: str
    open_interest: list[str]
    tickers: str
    instruments: str
    okx_funding: str
    okx_oi: str
    okx_marks: str


def _coins(n: int) -> list[str]:
    names = list(MAJORS)
    i = 0
    while len(names) < n:
        names.append("".join(chr(65 + (i // 26**k) % 26) for k in range(3)) + "X")
        i += 1
    return names


def _num(x: float) -> str:
    return f"{x:.8g}"


def generate(ts: int, seed: int) -> Bodies:
    """Realistic bodies for one cycle at ``ts`` (values drift with ``seed``)."""
    rng = random.Random(seed)
    universe = _coins(750)
    price = {c: 10 ** rng.uniform(-4, 5) for c in universe}
    price.update({"BTC": 100_000.0, "ETH": 4_000.0, "SOL": 200.0})

    def rate() -> float:
        return rng.choice([0.0001] * 6 + [rng.uniform(-0.003, 0.003)] * 4)

    next_ms = (ts // (8 * HOUR_MS) + 1) * 8 * HOUR_MS
    b_coins = universe[:500]
    premium = [
        {
            "symbol": f"{c}USDT", "markPrice": _num(price[c]), "indexPrice": _num(price[c]),
            "estimatedSettlePrice": _num(price[c]), "lastFundingRate": _num(rate()),
            "interestRate": "0.00010000", "nextFundingTime": next_ms, "time": ts - 300,
        }
        for c in b_coins
    ] + [
        {"symbol": f"{c}USDT_261225", "markPrice": _num(price[c]), "indexPrice": "",
         "estimatedSettlePrice": "", "lastFundingRate": "", "interestRate": "",
         "nextFundingTime": 0, "time": ts - 300}
        for c in MAJORS[:4]
    ]  # fmt: skip
    info = [
        {"symbol": f"{c}USDT", "adjustedFundingRateCap": "0.02", "adjustedFundingRateFloor":
         "-0.02", "fundingIntervalHours": rng.choice([1, 4, 4, 4]), "disclaimer": False}
        for c in b_coins[50:250]
    ]  # fmt: skip
    oi_bodies = [
        json.dumps({"openInterest": _num(rng.uniform(1e3, 1e9) / price[c] * 10),
                    "symbol": f"{c}USDT", "time": ts - 100})
        for c in b_coins[:40]
    ]  # fmt: skip
    y_coins = universe[:300] + universe[500:750] + universe[300:350]
    tickers = []
    instruments = []
    for i, c in enumerate(y_coins):
        p = price[c]
        oi = rng.uniform(1e4, 5e9) / p
        item = {
            "symbol": f"{c}USDT", "lastPrice": _num(p), "indexPrice": _num(p),
            "markPrice": _num(p), "prevPrice24h": _num(p * 1.01), "price24hPcnt": "-0.0099",
            "highPrice24h": _num(p * 1.05), "lowPrice24h": _num(p * 0.95),
            "prevPrice1h": _num(p), "openInterest": _num(oi), "openInterestValue":
            f"{oi * p:.2f}", "turnover24h": "123456789.12", "volume24h": "98765.4",
            "fundingRate": _num(rate()), "nextFundingTime": str(next_ms),
            "predictedDeliveryPrice": "", "basisRate": "", "deliveryFeeRate": "",
            "deliveryTime": "0", "ask1Size": "1.2", "bid1Price": _num(p * 0.9999),
            "ask1Price": _num(p * 1.0001), "bid1Size": "3.4", "basis": "",
            "preOpenPrice": "", "preQty": "", "curPreListingPhase": "",
        }  # fmt: skip
        if i % 5:  # a fifth of the answers lack the newer field
            item["fundingIntervalHour"] = "8"
        tickers.append(item)
        instruments.append(
            {"symbol": f"{c}USDT", "contractType": "LinearPerpetual", "status": "Trading",
             "baseCoin": c, "quoteCoin": "USDT", "fundingInterval": 480,
             "upperFundingRate": "0.02", "lowerFundingRate": "-0.02"}
        )  # fmt: skip
    envelope = {"retCode": 0, "retMsg": "OK", "retExtInfo": {}, "time": ts}
    o_coins = universe[:200] + universe[350:450]
    funding, ois, marks = [], [], []
    for c in o_coins:
        inst, p = f"{c}-USDT-SWAP", price[c]
        oi_ccy = rng.uniform(1e4, 3e9) / p
        funding.append(
            {"formulaType": "noRate", "fundingRate": _num(rate()), "fundingTime": str(next_ms),
             "impactValue": "", "instId": inst, "instType": "SWAP", "interestRate": "",
             "maxFundingRate": "0.015", "method": "current_period", "minFundingRate": "-0.015",
             "nextFundingRate": "", "nextFundingTime": str(next_ms + 8 * HOUR_MS),
             "premium": "0.0001", "settFundingRate": _num(rate()), "settState": "settled",
             "ts": str(ts)}
        )  # fmt: skip
        ois.append(
            {"instId": inst, "instType": "SWAP", "oi": _num(oi_ccy * 10), "oiCcy": _num(oi_ccy),
             "oiUsd": _num(oi_ccy * p), "ts": str(ts)}
        )  # fmt: skip
        marks.append({"instId": inst, "instType": "SWAP", "markPx": _num(p), "ts": str(ts)})
    return Bodies(
        premium=json.dumps(premium),
        funding_info=json.dumps(info),
        open_interest=oi_bodies,
        tickers=json.dumps({**envelope, "result": {"category": "linear", "list": tickers}}),
        instruments=json.dumps(
            {
                **envelope,
                "result": {"category": "linear", "list": instruments, "nextPageCursor": ""},
            }
        ),
        okx_funding=json.dumps({"code": "0", "msg": "", "data": funding}),
        okx_oi=json.dumps({"code": "0", "msg": "", "data": ois}),
        okx_marks=json.dumps({"code": "0", "msg": "", "data": marks}),
    )


class Cycle:
    """The poller's work on one cycle's bodies, with its per-venue caches kept."""

    def __init__(self, state: MarketState) -> None:
        self.state = state
        self.caches = {v: CoinCache() for v in ("binance", "bybit", "okx")}
        self.schedules = {v: IntervalTracker() for v in ("binance", "bybit")}

    def parse(self, ts: int, b: Bodies) -> list[MarketSnapshot]:
        """Every parser and the merges, as ``MarketPoller`` runs them."""
        intervals = binance.parse_funding_info(b.funding_info).items
        caps = binance.parse_funding_caps(b.funding_info).items
        premium = binance.parse_premium_index(b.premium, ts, intervals, self.caches["binance"])
        self.schedules["binance"].follow(premium.items.values(), ts, caps)
        for body in b.open_interest:
            for symbol, oi in binance.parse_open_interest(body).items.items():
                snap = premium.items.get(symbol)
                if snap is not None:
                    binance.with_open_interest(snap, oi)
        y_intervals = bybit.parse_instruments(b.instruments).items
        tickers = bybit.parse_tickers(b.tickers, ts, y_intervals, self.caches["bybit"])
        self.schedules["bybit"].follow(tickers.items.values(), ts)  # an upper bound
        funding = okx.parse_funding_rates(b.okx_funding)
        ois = okx.parse_open_interest(b.okx_oi)
        marks = okx.parse_mark_prices(b.okx_marks)
        o = okx.okx_snapshots(ts, funding.items, ois.items, marks.items, self.caches["okx"])
        return [*premium.items.values(), *tickers.items.values(), *o]


def one_cycle(cycle: Cycle, db: Any, ts: int, bodies: Bodies) -> dict[str, float]:
    """CPU ms of parse, aggregate and store for one cycle."""
    c0 = time.process_time()
    snaps = cycle.parse(ts, bodies)
    c1 = time.process_time()
    cycle.state.apply(snaps)
    coins = cycle.state.coins(ts)
    c2 = time.process_time()
    write_market(db, ts, snaps, coins)
    c3 = time.process_time()
    return {
        "snapshots": float(len(snaps)),
        "coins": float(len(coins)),
        "parse_cpu_ms": (c1 - c0) * 1000,
        "aggregate_cpu_ms": (c2 - c1) * 1000,
        "store_cpu_ms": (c3 - c2) * 1000,
        "total_cpu_ms": (c3 - c0) * 1000,
    }


def history_times(start: int, hours: float) -> list[int]:
    """Poll times of ``hours`` of history ending now, as pruning leaves them (one a minute
    for the last 6 h, one per 5 minutes up to 48 h, hourly beyond)."""
    end = start + int(hours * HOUR_MS)
    return [t for t in range(start, end, MINUTE_MS) if t % resolution_or_minute(end - t) == 0]


def resolution_or_minute(age_ms: int) -> int:
    """The stored spacing of polls ``age_ms`` old (a minute when not thinned)."""
    return resolution_at(age_ms) or MINUTE_MS


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Fill history, then time ``--runs`` cycles; print and return the medians."""
    ap = argparse.ArgumentParser(prog="python -m bench.funding_poll", description=__doc__)
    ap.add_argument("--runs", type=int, default=9, help="timed cycles; medians are reported")
    ap.add_argument("--history-hours", type=float, default=48.0, help="polls already stored")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        db = open_db(Path(tmp) / "funding.db")
        clock_now = [T0]
        state = MarketState(None, 60.0, clock=lambda: clock_now[0])
        cycle = Cycle(state)
        base = generate(T0, seed=0)
        snaps = cycle.parse(T0, base)
        state.apply(snaps)
        coins = state.coins(T0)
        history = history_times(T0, args.history_hours)
        started = time.perf_counter()
        with db.atomic():  # filling is setup, not the measured path: one commit
            for t in history:
                write_market(db, t, snaps, coins)
        fill_s = time.perf_counter() - started
        runs = []
        end = T0 + int(args.history_hours * HOUR_MS)
        for r in range(args.runs):
            ts = end + r * MINUTE_MS
            clock_now[0] = ts
            bodies = generate(ts, seed=r + 1)
            runs.append(one_cycle(cycle, db, ts, bodies))
        body_kb = sum(
            len(x) for x in (base.premium, base.tickers, base.okx_funding, base.okx_oi,
                             base.okx_marks, base.funding_info, base.instruments)
        ) / 1024  # fmt: skip
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        size_mb = (Path(tmp) / "funding.db").stat().st_size / 2**20
        db.close()
    out: dict[str, Any] = {
        "target_cpu_ms": 200.0,
        "runs": args.runs,
        "history_polls": len(history),
        "history_fill_s": round(fill_s, 2),
        "db_mb": round(size_mb, 1),
        "response_kb_per_cycle": round(body_kb, 1),
    }
    for key in runs[0]:
        out[f"median_{key}"] = round(statistics.median(r[key] for r in runs), 2)
    out["max_total_cpu_ms"] = round(max(r["total_cpu_ms"] for r in runs), 2)
    return out


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))

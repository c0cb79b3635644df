"""Deterministic replay file: liquidations from Binance, Bybit and OKX in their wire formats.

The file opens with the REST lines the parsers need (Bybit instrument list, OKX contract
values), then websocket lines in receive order: Binance one event per combined-stream
message, Bybit ``allLiquidation`` batches of one symbol's prints within 500 ms, OKX
``liquidation-orders`` pushes with several instruments and details. Coins follow a
Zipf-like popularity (BTC and ETH dominate, hundreds of alts trail); sizes are lognormal
around a few thousand USD with a heavy tail into the millions.

Run ``python -m bench.generate [path] [--events N]``.
"""

from __future__ import annotations

import argparse
import json
import math
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

GENERATOR_VERSION = 2
START_MS = 1_791_590_400_000  # 2026-10-10 00:00 UTC
EVENTS_PER_S = 6.0  # average print rate across venues, bursts well above it

_MAJORS = (
    ("BTC", 64_000.0),
    ("ETH", 3_100.0),
    ("SOL", 150.0),
    ("XRP", 0.58),
    ("DOGE", 0.12),
    ("BNB", 580.0),
    ("ADA", 0.36),
    ("AVAX", 27.0),
    ("LINK", 12.5),
    ("SUI", 1.9),
)
# Share of events per venue (Bybit's feed is complete, the other two are sampled).
_VENUE_WEIGHTS = (("binance", 0.35), ("bybit", 0.40), ("okx", 0.25))

_SEP = (",", ":")


@dataclass(frozen=True)
class Coin:
    """One coin as the three venues list it."""

    name: str
    price: float
    binance: str  # symbol
    bybit: str
    okx: str  # linear swap instId
    scale: float  # venue price multiplier (1000 for 1000PEPE-style symbols)
    ct_val: float  # OKX linear contract value in coins


@dataclass
class Summary:
    """What a generated file holds."""

    path: Path
    lines: int = 0
    events: int = 0
    by_venue: dict[str, int] = field(default_factory=dict)
    first_ms: int = 0
    last_ms: int = 0


def _coins(rng: random.Random, n_alts: int) -> list[Coin]:
    coins = [_coin(name, price, rng) for name, price in _MAJORS]
    for i in range(n_alts):
        name = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(3)) + f"{i}X"
        coins.append(_coin(name, math.exp(rng.uniform(math.log(1e-5), math.log(50.0))), rng))
    return coins


def _coin(name: str, price: float, rng: random.Random) -> Coin:
    scale = 1000.0 if price < 0.01 else 1.0
    prefix = "1000" if scale > 1 else ""
    # OKX sizes contracts at roughly $10-$1000 each (BTC 0.01, ETH 0.1, SOL 1, DOGE 1000).
    ct_val = 10.0 ** (math.floor(math.log10(1000.0 / price)) + rng.choice((0, 0, -1)))
    return Coin(
        name=name,
        price=price,
        binance=f"{prefix}{name}USDT",
        bybit=f"{prefix}{name}USDT",
        okx=f"{name}-USDT-SWAP",
        scale=scale,
        ct_val=ct_val,
    )


def _fmt(x: float, digits: int = 6) -> str:
    """A venue-style decimal string with ``digits`` significant digits."""
    text = f"{x:.{digits}g}"
    if "e" in text:
        text = f"{x:.12f}".rstrip("0").rstrip(".")
    return text


class _Generator:
    def __init__(self, seed: int, n_alts: int, events_per_s: float) -> None:
        self.rng = random.Random(seed)
        self.events_per_s = events_per_s
        self.coins = _coins(self.rng, n_alts)
        # Zipf-like popularity: weight 1 / rank^1.1.
        self.cum_weights: list[float] = []
        total = 0.0
        for rank in range(1, len(self.coins) + 1):
            total += 1.0 / rank**1.1
            self.cum_weights.append(total)
        self.now = float(START_MS)

    def coin(self) -> Coin:
        return self.rng.choices(self.coins, cum_weights=self.cum_weights)[0]

    def usd(self) -> float:
        # Median ~$1.5k; one print in ~2,000 is over $1M; capped at $25M.
        return min(math.exp(self.rng.gauss(math.log(1_500.0), 1.7)), 25e6)

    def price(self, coin: Coin) -> float:
        drift = 1.0 + 0.08 * math.sin((self.now - START_MS) / 3.6e6 / 7.0)
        return coin.price * drift * (1.0 + self.rng.gauss(0.0, 0.002))

    def long(self) -> bool:
        return self.rng.random() < 0.62

    def binance(self, ts: int) -> tuple[str, int]:
        coin = self.coin()
        price = self.price(coin) * coin.scale
        qty = float(_fmt(self.usd() / price, 4))
        side = "SELL" if self.long() else "BUY"
        order = {
            "s": coin.binance,
            "S": side,
            "o": "LIMIT",
            "f": "IOC",
            "q": _fmt(qty),
            "p": _fmt(price * (0.995 if side == "SELL" else 1.005)),
            "ap": _fmt(price),
            "X": "FILLED",
            "l": _fmt(qty),
            "z": _fmt(qty),
            "T": ts,
        }
        msg = {
            "stream": "!forceOrder@arr",
            "data": {"e": "forceOrder", "E": ts + 1010, "o": order},
        }
        return json.dumps(msg, separators=_SEP), 1

    def bybit(self, ts: int) -> tuple[str, int]:
        coin = self.coin()
        n = 1 + min(int(self.rng.expovariate(0.7)), 7)
        data = []
        for i in range(n):
            price = self.price(coin) * coin.scale
            data.append(
                {
                    "T": ts - 450 + i * (400 // n),
                    "s": coin.bybit,
                    "S": "Buy" if self.long() else "Sell",
                    "v": _fmt(float(_fmt(self.usd() / price, 4))),
                    "p": _fmt(price),
                }
            )
        msg = {"topic": f"allLiquidation.{coin.bybit}", "type": "snapshot", "ts": ts, "data": data}
        return json.dumps(msg, separators=_SEP), n

    def okx(self, ts: int) -> tuple[str, int]:
        items = []
        events = 0
        for _ in range(1 + min(int(self.rng.expovariate(1.2)), 4)):
            coin = self.coin()
            details = []
            for _ in range(1 + min(int(self.rng.expovariate(1.5)), 3)):
                price = self.price(coin)
                contracts = max(1, round(self.usd() / price / coin.ct_val))
                long = self.long()
                hedge = self.rng.random() < 0.3
                details.append(
                    {
                        "bkLoss": "0",
                        "bkPx": _fmt(price),
                        "ccy": "",
                        "posSide": ("long" if long else "short") if hedge else "net",
                        "side": "sell" if long else "buy",
                        "sz": str(contracts),
                        "ts": str(ts - self.rng.randrange(0, 900)),
                    }
                )
            events += len(details)
            family = coin.okx.removesuffix("-SWAP")
            items.append(
                {
                    "details": details,
                    "instFamily": family,
                    "instId": coin.okx,
                    "instType": "SWAP",
                    "uly": family,
                }
            )
        msg = {"arg": {"channel": "liquidation-orders", "instType": "SWAP"}, "data": items}
        return json.dumps(msg, separators=_SEP), events

    def rest_lines(self) -> list[dict[str, Any]]:
        bybit = {
            "retCode": 0,
            "retMsg": "OK",
            "result": {
                "category": "linear",
                "list": [
                    {
                        "symbol": c.bybit,
                        "contractType": "LinearPerpetual",
                        "status": "Trading",
                        "baseCoin": c.bybit.removesuffix("USDT"),
                        "quoteCoin": "USDT",
                        "settleCoin": "USDT",
                        "fundingInterval": 480,
                    }
                    for c in self.coins
                ],
                "nextPageCursor": "",
            },
            "retExtInfo": {},
            "time": START_MS,
        }
        okx = {
            "code": "0",
            "msg": "",
            "data": [
                {
                    "instType": "SWAP",
                    "instId": c.okx,
                    "uly": c.okx.removesuffix("-SWAP"),
                    "instFamily": c.okx.removesuffix("-SWAP"),
                    "ctVal": _fmt(c.ct_val),
                    "ctMult": "1",
                    "ctType": "linear",
                    "ctValCcy": c.name,
                    "settleCcy": "USDT",
                    "state": "live",
                }
                for c in self.coins
            ],
        }
        return [
            {
                "venue": "bybit",
                "recv_ms": START_MS,
                "rest": "/v5/market/instruments-info?category=linear&status=Trading&limit=1000",
                "body": json.dumps(bybit, separators=_SEP),
            },
            {
                "venue": "okx",
                "recv_ms": START_MS,
                "rest": "/api/v5/public/instruments?instType=SWAP",
                "body": json.dumps(okx, separators=_SEP),
            },
        ]

    def write(self, out: TextIO, n_events: int, summary: Summary) -> None:
        for line in self.rest_lines():
            out.write(json.dumps(line, separators=_SEP) + "\n")
            summary.lines += 1
        makers = {"binance": self.binance, "bybit": self.bybit, "okx": self.okx}
        venues = [v for v, _ in _VENUE_WEIGHTS]
        weights = [w for _, w in _VENUE_WEIGHTS]
        last_recv = START_MS
        summary.first_ms = START_MS
        while summary.events < n_events:
            # Calm and storm phases: the rate swings ~25x over a few hours.
            phase = math.sin((self.now - START_MS) / 3.6e6 / 1.3)
            rate = self.events_per_s * math.exp(1.6 * phase)
            # 3.1: mean events per message x mean of the storm factor, measured.
            self.now += self.rng.expovariate(rate) * 1000.0 * 3.1
            venue = self.rng.choices(venues, weights)[0]
            ts = int(self.now)
            text, n = makers[venue](ts)
            recv = max(last_recv, ts + 1010 + self.rng.randrange(2, 40))
            last_recv = recv
            record = {"venue": venue, "recv_ms": recv, "ws": text}
            out.write(json.dumps(record, separators=_SEP) + "\n")
            summary.lines += 1
            summary.events += n
            summary.by_venue[venue] = summary.by_venue.get(venue, 0) + n
        summary.last_ms = last_recv


def generate(
    path: str | Path,
    n_events: int,
    seed: int = 1,
    n_alts: int = 290,
    events_per_s: float = EVENTS_PER_S,
) -> Summary:
    """Write a replay file of at least ``n_events`` liquidations to ``path``.

    ``events_per_s`` is the average rate, so the file spans about ``n_events /
    events_per_s`` seconds of recorded time.
    The same arguments always produce the same bytes. Written to a temporary name and
    renamed, so an interrupted run never leaves a truncated file behind.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    summary = Summary(path)
    with tmp.open("w", encoding="utf-8") as out:
        _Generator(seed, n_alts, events_per_s).write(out, n_events, summary)
    tmp.replace(path)
    return summary


def cli(argv: list[str] | None = None) -> None:
    """Command line: write a replay file and print what it holds.

    Named ``cli``, not ``main``: ``python -m bench`` runs every module's ``main``.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("path", nargs="?", default="bench/out/replay.jsonl")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    s = generate(args.path, args.events, args.seed)
    print(f"{s.path}: {s.lines} lines, {s.events} events {s.by_venue}")


if __name__ == "__main__":
    cli()

"""Seeded generator of venue frames: valid liquidations in each venue's wire format mixed
with garbage (invalid JSON, wrong types, NaN/Infinity as JSON tokens and as strings,
zero, negative and absurd figures, unknown symbols, missing fields, nested junk).

Each frame records what it should yield, decided independently of the parsers: the valid
liquidations (venue, side, USD as ``Decimal`` by the venue's documented rule) and how
many items the parser must reject. Every garbage item is exactly one reject.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

MAX_USD = Decimal("1e10")
MAX_PRICE = Decimal("1e9")
MAX_QTY = Decimal("1e15")
T0 = 1_760_130_000_000

BINANCE_SYMBOLS = ["BTCUSDT", "ETHUSDT", "1000PEPEUSDT", "币安人生USDT", "NEWLISTINGUSDT"]
BYBIT_SYMBOLS = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "1000PEPEUSDT"]
# instId: (ctType, ctVal, ctMult)
OKX_CONTRACTS = {
    "BTC-USDT-SWAP": ("linear", "0.01", "1"),
    "DOGE-USDT-SWAP": ("linear", "1000", "1"),
    "BTC-USD-SWAP": ("inverse", "100", "1"),
    "ETH-USD-SWAP": ("inverse", "10", "1"),
}

# Values that are never a usable quantity or price, as JSON would carry them.
BAD_NUMBERS: list[Any] = [
    "0", "-1.5", "0.0", "-0", "", " ", "1,5", "0x10", "abc", "nan", "NaN", "inf", "-inf",
    "Infinity", "-Infinity", "1e400", "-1e400", float("nan"), float("inf"), float("-inf"),
    0, -3, True, False, None, [], [1], {}, {"v": "1"}, [[[["1"]]]],
]  # fmt: skip
BAD_TIMES: list[Any] = [
    None, "", "abc", -1, 0, "0", 10**13, 10**20, 1.5e12, "1760130000000.5", [T0], {}, True,
]  # fmt: skip
BAD_JSON = [
    "", "not json", "{", '{"stream":', "[1, 2", "}{", "NaN NaN", '{"a" 1}', "\x00",
    '{"topic":"allLiquidation.BTCUSDT","data":[{"T":1,}]}', "[" * 2000,
]  # fmt: skip


@dataclass
class Expected:
    """What one venue's frames should add up to."""

    totals: dict[str, list[Any]] = field(
        default_factory=lambda: {"long": [0, Decimal(0)], "short": [0, Decimal(0)]}
    )
    rejects: int = 0
    frames: list[str] = field(default_factory=list)

    def valid(self, side: str, usd: Decimal) -> None:
        self.totals[side][0] += 1
        self.totals[side][1] += usd

    @property
    def count(self) -> int:
        """Valid liquidations in all."""
        return int(self.totals["long"][0] + self.totals["short"][0])


def _amount(rng: random.Random, digits: int, places: int) -> Decimal:
    return Decimal(rng.randint(1, 10**digits)) / (Decimal(10) ** rng.randint(0, places))


def _wire(value: Decimal, rng: random.Random) -> str:
    """A decimal as a venue writes it: plain, sometimes with trailing zeros or exponent."""
    text = format(value, "f")
    style = rng.random()
    if style < 0.1:
        return f"{value:E}"
    if style < 0.2 and "." in text:
        return text + "00"
    return text


def _plausible(qty: Decimal, price: Decimal, usd: Decimal) -> bool | None:
    """Within bounds, out of bounds, or None when float rounding could decide it."""
    for value, bound in ((qty, MAX_QTY), (price, MAX_PRICE), (usd, MAX_USD)):
        if abs(value - bound) <= bound * Decimal("1e-9"):
            return None
    return qty <= MAX_QTY and price <= MAX_PRICE and usd <= MAX_USD


def _dumps(obj: Any) -> str:
    # allow_nan (the default) writes NaN/Infinity as the bare tokens venues have sent.
    # ASCII escapes keep lone surrogates (\\ud800) on the wire, as a venue could send them.
    return json.dumps(obj)


class JunkFeed:
    """Frames for one venue: ``frame()`` appends one (valid, garbage or mixed)."""

    def __init__(self, venue: str, seed: int) -> None:
        self.venue = venue
        self.rng = random.Random(f"{venue}:{seed}")
        self.expected = Expected()
        self._ts = T0

    def frames(self, n: int) -> Expected:
        """Generate ``n`` frames; returns their expectation."""
        for _ in range(n):
            if self.rng.random() < 0.08:
                self.expected.frames.append(self.rng.choice(BAD_JSON))
                self.expected.rejects += 1
            else:
                getattr(self, f"_{self.venue}")()
        return self.expected

    def _next_ts(self) -> int:
        self._ts += self.rng.randint(1, 900)
        return self._ts

    def _figures(self) -> tuple[Decimal, Decimal, Decimal, Decimal] | None:
        """A random size and price (some absurd) with their USD: (qty, price, usd, size)
        for quantity x price venues; None to draw again."""
        qty = _amount(self.rng, 7, 6)
        price = _amount(self.rng, 8, 8)
        if self.rng.random() < 0.1:
            qty *= Decimal(10) ** self.rng.randint(6, 14)  # absurd sizes
        if self.rng.random() < 0.05:
            price = Decimal(10) ** self.rng.randint(9, 12) + 1  # absurd prices
        return qty, price, qty * price, qty

    # -- Binance ---------------------------------------------------------------------

    def _binance(self) -> None:
        rng = self.rng
        side = rng.choice(["SELL", "BUY"])
        order: dict[str, Any] = {
            "s": rng.choice(BINANCE_SYMBOLS), "S": side, "o": "LIMIT", "f": "IOC",
            "X": "FILLED", "T": self._next_ts(),
        }  # fmt: skip
        figures = self._figures()
        assert figures is not None
        qty, price, usd, _ = figures
        verdict = _plausible(qty, price, usd)
        if verdict is None:
            return
        order.update(z=_wire(qty, rng), ap=_wire(price, rng), q="1", p="1", l="1")
        if rng.random() < 0.35:
            self._spoil_binance(order)
            self.expected.rejects += 1
        elif verdict:
            self.expected.valid("long" if side == "SELL" else "short", usd)
        else:
            self.expected.rejects += 1
        event = {"e": "forceOrder", "E": order.get("T"), "o": order}
        if rng.random() < 0.5:
            self.expected.frames.append(_dumps({"stream": "!forceOrder@arr", "data": event}))
        else:
            self.expected.frames.append(_dumps(event))

    def _spoil_binance(self, order: dict[str, Any]) -> None:
        rng = self.rng
        how = rng.randrange(6)
        if how == 0:
            order[rng.choice(["z", "ap"])] = rng.choice(BAD_NUMBERS)
        elif how == 1:
            order["T"] = rng.choice(BAD_TIMES)
        elif how == 2:
            order["S"] = rng.choice(["sell", "LONG", "", None, 1, ["SELL"]])
        elif how == 3:
            del order[rng.choice(["z", "ap", "T", "S", "s"])]
        elif how == 4:
            order["s"] = rng.choice(["", "X" * 65, "BTC\ud800USDT", "A\u200bB", 7, None])
        else:
            order["z"] = {"nested": [{"junk": [float("nan")]}]}

    # -- Bybit -----------------------------------------------------------------------

    def _bybit(self) -> None:
        rng = self.rng
        symbol = rng.choice(BYBIT_SYMBOLS)
        frame_junk = rng.random()
        if frame_junk < 0.05:
            self.expected.frames.append(_dumps({"topic": f"allLiquidation.{symbol}", "data": {}}))
            self.expected.rejects += 1
            return
        if frame_junk < 0.08:
            self.expected.frames.append(_dumps({"topic": f"orderbook.1.{symbol}", "data": []}))
            self.expected.rejects += 1
            return
        items = []
        for _ in range(rng.randint(1, 4)):
            figures = self._figures()
            assert figures is not None
            qty, price, usd, _ = figures
            verdict = _plausible(qty, price, usd)
            if verdict is None:
                continue
            side = rng.choice(["Buy", "Sell"])
            item: dict[str, Any] = {
                "T": self._next_ts(), "s": symbol, "S": side,
                "v": _wire(qty, rng), "p": _wire(price, rng),
            }  # fmt: skip
            if rng.random() < 0.35:
                self._spoil_bybit(item)
                self.expected.rejects += 1
            elif verdict:
                self.expected.valid("long" if side == "Buy" else "short", usd)
            else:
                self.expected.rejects += 1
            items.append(item)
        if not items:
            return
        msg = {"topic": f"allLiquidation.{symbol}", "type": "snapshot", "ts": T0, "data": items}
        self.expected.frames.append(_dumps(msg))

    def _spoil_bybit(self, item: dict[str, Any]) -> None:
        rng = self.rng
        how = rng.randrange(6)
        if how == 0:
            item[rng.choice(["v", "p"])] = rng.choice(BAD_NUMBERS)
        elif how == 1:
            item["T"] = rng.choice(BAD_TIMES)
        elif how == 2:
            item["S"] = rng.choice(["buy", "Long", "", None, 0, ["Buy"]])
        elif how == 3:
            del item[rng.choice(["v", "p", "T", "S", "s"])]
        elif how == 4:
            item["s"] = rng.choice(["NOTSUBSCRIBEDUSDT", "", None, 5, "BTCUSDT\ud800"])
        else:
            item["p"] = [{"deep": {"er": [None, float("inf")]}}]

    # -- OKX -------------------------------------------------------------------------

    def _okx(self) -> None:
        rng = self.rng
        inst = rng.choice(sorted(OKX_CONTRACTS))
        ct_type, ct_val, ct_mult = OKX_CONTRACTS[inst]
        unknown = rng.random() < 0.06  # an instrument without contract values
        details = []
        for _ in range(1 if unknown else rng.randint(1, 4)):
            sz = Decimal(rng.randint(1, 10**6)) * (
                Decimal(10) ** rng.randint(5, 9) if rng.random() < 0.08 else 1
            )
            px = _amount(rng, 8, 6)
            size = sz * Decimal(ct_val) * Decimal(ct_mult)
            usd = size * px if ct_type == "linear" else size
            qty = size if ct_type == "linear" else size / px
            verdict = _plausible(qty, px, usd)
            if verdict is None:
                continue
            pos, order_side = rng.choice(
                [("long", "sell"), ("short", "buy"), ("net", "sell"), ("net", "buy")]
            )
            detail: dict[str, Any] = {
                "bkLoss": "0", "bkPx": _wire(px, rng), "ccy": "", "posSide": pos,
                "side": order_side, "sz": str(sz), "ts": str(self._next_ts()),
            }  # fmt: skip
            if unknown:
                self.expected.rejects += 1
            elif rng.random() < 0.35:
                self._spoil_okx(detail)
                self.expected.rejects += 1
            elif verdict:
                long = pos == "long" or (pos == "net" and order_side == "sell")
                self.expected.valid("long" if long else "short", usd)
            else:
                self.expected.rejects += 1
            details.append(detail)
        if not details:
            return
        inst_id = rng.choice(["NOPE-USDT-SWAP", "BTC-USDT-250926"]) if unknown else inst
        item = {"instId": inst_id, "instType": "SWAP", "details": details}
        msg = {"arg": {"channel": "liquidation-orders", "instType": "SWAP"}, "data": [item]}
        self.expected.frames.append(_dumps(msg))

    def _spoil_okx(self, detail: dict[str, Any]) -> None:
        rng = self.rng
        how = rng.randrange(5)
        if how == 0:
            detail[rng.choice(["sz", "bkPx"])] = rng.choice(BAD_NUMBERS)
        elif how == 1:
            detail["ts"] = rng.choice(BAD_TIMES)
        elif how == 2:
            detail["posSide"] = rng.choice(["LONG", "both", 1, ["long"]])
        elif how == 3:
            detail["posSide"], detail["side"] = "net", rng.choice(["SELL", "", None, 3])
        else:
            del detail[rng.choice(["sz", "bkPx", "ts"])]

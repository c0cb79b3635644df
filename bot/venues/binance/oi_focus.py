"""Which Binance symbols get a per-symbol open-interest request this cycle (pure).

Binance has no all-symbols open interest: one request (weight 1) per symbol. Only the
coins that matter are read, a bounded number per cycle, the oldest readings first, and a
reading is used while it is younger than ``max_age_ms``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from bot.domain import MarketSnapshot
from bot.venues.binance import market as binance
from bot.venues.symbols import CoinCache


class OpenInterestBook:
    """The latest open-interest reading per Binance symbol and the rotation over them."""

    def __init__(self, per_cycle: int, symbols_max: int, max_age_ms: int) -> None:
        self.per_cycle = per_cycle
        self.symbols_max = symbols_max
        self.max_age_ms = max_age_ms
        self._readings: dict[str, tuple[float, int]] = {}  # symbol -> (oi, read at)

    def targets(self, symbols: Iterable[str], focus: Iterable[str], coins: CoinCache) -> list[str]:
        """Symbols of the ``focus`` coins (in focus order, USDT-margined first, at most
        ``symbols_max``), the ones read longest ago first, at most ``per_cycle``."""
        by_coin: dict[str, list[str]] = {}
        for symbol in symbols:
            by_coin.setdefault(coins.coin(symbol), []).append(symbol)
        wanted: list[str] = []
        for coin in dict.fromkeys(c.upper() for c in focus):
            # USDT-margined first: the deepest book and the open interest a trader means.
            wanted.extend(sorted(by_coin.get(coin, ()), key=lambda s: (not s.endswith("USDT"), s)))
        wanted = wanted[: self.symbols_max]
        wanted.sort(key=lambda s: self._readings.get(s, (0.0, 0))[1])  # stable: focus order
        return wanted[: self.per_cycle]

    def record(self, symbol: str, oi: float | None, ts_ms: int) -> None:
        """A reading (``None``: the venue reported zero open interest)."""
        if oi is None:
            self._readings.pop(symbol, None)
        else:
            self._readings[symbol] = (oi, ts_ms)

    def apply(self, snapshots: Mapping[str, MarketSnapshot], ts_ms: int) -> None:
        """Give each snapshot its symbol's reading if not older than ``max_age_ms``
        (USD at the snapshot's mark price)."""
        for symbol, snap in snapshots.items():
            reading = self._readings.get(symbol)
            if reading is not None and ts_ms - reading[1] <= self.max_age_ms:
                binance.with_open_interest(snap, reading[0])

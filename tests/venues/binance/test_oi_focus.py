"""Binance open-interest rotation: which symbols are read, and which readings are used."""

import pytest

from bot.domain import MarketSnapshot
from bot.venues.binance.oi_focus import OpenInterestBook
from bot.venues.symbols import CoinCache

T = 1_791_590_400_000
SYMBOLS = ["ETHUSDT", "BTCUSDC", "BTCUSDT", "1000PEPEUSDT", "SOLUSDT", "XRPUSDT"]


def test_focus_order_usdt_first_bounded() -> None:
    book = OpenInterestBook(per_cycle=3, symbols_max=4, max_age_ms=300_000)
    cache = CoinCache()
    assert book.targets(SYMBOLS, ["btc", "PEPE", "SOL", "BTC", "XRP"], cache) == [
        "BTCUSDT",
        "BTCUSDC",
        "1000PEPEUSDT",
    ]
    for s in ("BTCUSDT", "BTCUSDC", "1000PEPEUSDT"):
        book.record(s, 1.0, T)
    # XRP is past symbols_max (4); SOL was never read, so it goes first now
    assert book.targets(SYMBOLS, ["BTC", "PEPE", "SOL", "XRP"], cache) == [
        "SOLUSDT",
        "BTCUSDT",
        "BTCUSDC",
    ]
    assert book.targets(SYMBOLS, ["DOGE"], cache) == []


def test_readings_used_while_young_enough() -> None:
    book = OpenInterestBook(per_cycle=5, symbols_max=10, max_age_ms=300_000)
    book.record("BTCUSDT", 80_000.5, T)
    book.record("ETHUSDT", 10.0, T)
    book.record("ETHUSDT", None, T + 1)  # zero open interest now: forgotten
    snaps = {
        s: MarketSnapshot("binance", s, s[:3], T, 0.0001, 8.0, None, 100_000.0, None, None)
        for s in ("BTCUSDT", "ETHUSDT")
    }
    book.apply(snaps, T + 300_000)
    assert snaps["BTCUSDT"].oi_usd == pytest.approx(80_000.5 * 100_000.0, rel=1e-15)
    assert snaps["ETHUSDT"].oi_base is None
    snaps["BTCUSDT"].oi_base = snaps["BTCUSDT"].oi_usd = None
    book.apply(snaps, T + 300_001)  # too old
    assert snaps["BTCUSDT"].oi_usd is None

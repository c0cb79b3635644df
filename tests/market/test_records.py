"""Funding normalisation and per-coin aggregation, against figures computed here."""

import math
from decimal import Decimal

import pytest

from bot.domain import MarketSnapshot, coin_market, symbol_multiplier
from bot.market.records import oi_change, price_change

T = 1_760_000_000_000


def snap(
    venue: str,
    symbol: str,
    coin: str,
    rate: float | None,
    interval: float | None,
    mark: float | None = None,
    oi_usd: float | None = None,
    ts: int = T,
) -> MarketSnapshot:
    return MarketSnapshot(venue, symbol, coin, ts, rate, interval, None, mark, None, oi_usd)


@pytest.mark.parametrize(
    ("rate", "interval", "rate_8h", "apr"),
    [
        ("0.0001", "8", "0.0001", "0.1095"),  # the neutral baseline: 10.95 % APR
        ("0.00015", "4", "0.0003", "0.3285"),
        ("-0.0005", "1", "-0.004", "-4.38"),
        ("0.0003", "2", "0.0012", "1.314"),
        ("0", "8", "0", "0"),
    ],
)
def test_rate_8h_and_apr(rate: str, interval: str, rate_8h: str, apr: str) -> None:
    s = snap("bybit", "XUSDT", "X", float(rate), float(interval))
    assert s.rate_8h == pytest.approx(float(Decimal(rate) * 8 / Decimal(interval)), rel=1e-12)
    assert s.rate_8h == pytest.approx(float(rate_8h), rel=1e-12, abs=1e-18)
    assert s.apr == pytest.approx(float(apr), rel=1e-12, abs=1e-18)


def test_missing_rate_or_interval_gives_none() -> None:
    assert snap("okx", "X-USDT-SWAP", "X", None, 8.0).rate_8h is None
    assert snap("okx", "X-USDT-SWAP", "X", 0.001, None).apr is None


@pytest.mark.parametrize(
    ("symbol", "coin", "mult"),
    [
        ("1000PEPEUSDT", "PEPE", 1000.0),
        ("SHIB1000USDT", "SHIB", 1000.0),
        ("1MBABYDOGEUSDT", "BABYDOGE", 1e6),
        ("10000LADYSUSDT", "LADYS", 1e4),
        ("1INCHUSDT", "1INCH", 1.0),
        ("BTC-USDT-SWAP", "BTC", 1.0),
        ("PEPE-USDT-SWAP", "PEPE", 1.0),
        ("BTCPERP", "BTC", 1.0),
    ],
)
def test_symbol_multiplier(symbol: str, coin: str, mult: float) -> None:
    assert symbol_multiplier(symbol, coin) == mult


def test_coin_market_oi_weighted_funding() -> None:
    venues = [
        snap("okx", "BTC-USDT-SWAP", "BTC", 0.00012, 8.0, 100_010.0, 3.0e9),
        snap("binance", "BTCUSDT", "BTC", 0.0001, 8.0, 100_000.0, 8.0e9),
        snap("bybit", "BTCUSDT", "BTC", 0.00005, 4.0, 99_990.0, 5.0e9),
        # no open interest: does not weigh in funding, counts nowhere in OI
        snap("binance", "BTCUSDC", "BTC", 0.0009, 8.0, 100_020.0, None),
    ]
    m = coin_market("BTC", T, venues)
    assert [s.venue for s in m.venues] == ["binance", "binance", "bybit", "okx"]
    assert m.oi_usd == math.fsum([3.0e9, 8.0e9, 5.0e9])
    pairs = [(0.00012, 3.0e9), (0.0001, 8.0e9), (0.00005 * 8 / 4, 5.0e9)]
    expected = math.fsum(r * w for r, w in pairs) / math.fsum(w for _, w in pairs)
    assert m.funding_8h == pytest.approx(expected, rel=1e-12)
    marks = [(100_010.0, 3.0e9), (100_000.0, 8.0e9), (99_990.0, 5.0e9)]
    expected_mark = math.fsum(p * w for p, w in marks) / math.fsum(w for _, w in marks)
    assert m.mark_price == pytest.approx(expected_mark, rel=1e-12)


def test_coin_market_normalises_multiplier_symbols() -> None:
    m = coin_market(
        "PEPE",
        T,
        [
            snap("binance", "1000PEPEUSDT", "PEPE", 0.0001, 8.0, 0.0120, 2.0e8),
            snap("okx", "PEPE-USDT-SWAP", "PEPE", 0.0002, 8.0, 0.0000121, 1.0e8),
        ],
    )
    assert m.mark_price == pytest.approx((0.0000120 * 2 + 0.0000121 * 1) / 3, rel=1e-12)


def test_coin_market_without_open_interest() -> None:
    m = coin_market("X", T, [snap("binance", "XUSDT", "X", 0.001, 4.0, 2.0, None)])
    assert m.oi_usd is None
    assert m.funding_8h is None  # never invented from an unweighted venue
    assert m.mark_price == 2.0
    empty = coin_market("Y", T, [])
    assert (empty.oi_usd, empty.funding_8h, empty.mark_price) == (None, None, None)


def test_changes_use_only_symbols_present_at_both_times() -> None:
    before = coin_market(
        "ETH",
        T,
        [
            snap("bybit", "ETHUSDT", "ETH", 0.0001, 8.0, 4000.0, 1.0e9),
            snap("okx", "ETH-USDT-SWAP", "ETH", 0.0001, 8.0, 4002.0, 0.5e9),
        ],
    )
    now = coin_market(
        "ETH",
        T + 3_600_000,
        [
            snap("bybit", "ETHUSDT", "ETH", 0.0001, 8.0, 3800.0, 0.9e9),
            snap("okx", "ETH-USDT-SWAP", "ETH", 0.0001, 8.0, 3801.0, None),  # OI missing now
            snap("binance", "ETHUSDT", "ETH", 0.0001, 8.0, 3799.0, 2.0e9),  # new in focus
        ],
    )
    assert oi_change(before, now) == pytest.approx(0.9e9 / 1.0e9 - 1, rel=1e-12)
    assert price_change(before, now) == pytest.approx((3800 + 3801) / (4000 + 4002) - 1)
    lone = coin_market("ETH", T, [snap("binance", "ETHUSDT", "ETH", 0.0, 8.0, None, None)])
    assert oi_change(before, lone) is None
    assert price_change(before, lone) is None

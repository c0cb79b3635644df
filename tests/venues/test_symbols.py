import math

import pytest

from bot.venues.symbols import CoinCache, coin_from_symbol, epoch_ms, positive


@pytest.mark.parametrize(
    ("symbol", "coin"),
    [
        # Binance USD-M
        ("BTCUSDT", "BTC"),
        ("ETHUSDC", "ETH"),
        ("BTCUSDT_250926", "BTC"),
        ("1000PEPEUSDT", "PEPE"),
        ("1000000MOGUSDT", "MOG"),
        ("1MBABYDOGEUSDT", "BABYDOGE"),
        ("1INCHUSDT", "1INCH"),
        ("USDCUSDT", "USDC"),
        ("BTCUSD_PERP", "BTC"),  # COIN-M
        # Bybit linear
        ("BTCPERP", "BTC"),
        ("ETHPERP", "ETH"),
        ("BTC-26DEC25", "BTC"),
        ("BTCUSDT-26DEC25", "BTC"),
        ("10000LADYSUSDT", "LADYS"),
        ("1000000BABYDOGEUSDT", "BABYDOGE"),
        ("SHIB1000USDT", "SHIB"),
        ("ROSEUSDT", "ROSE"),
        # OKX instIds
        ("BTC-USDT-SWAP", "BTC"),
        ("BTC-USD-SWAP", "BTC"),
        ("IOST-USDT-SWAP", "IOST"),
        ("1INCH-USDT-SWAP", "1INCH"),
        # lower case input still gives an upper case coin
        ("ethusdt", "ETH"),
    ],
)
def test_coin_from_symbol(symbol: str, coin: str) -> None:
    assert coin_from_symbol(symbol) == coin


@pytest.mark.parametrize("symbol", ["USDT", "USD", "1000", "PERP"])
def test_never_strips_everything(symbol: str) -> None:
    assert coin_from_symbol(symbol) == symbol


def test_multiplier_only_stripped_before_letters() -> None:
    assert coin_from_symbol("1000USDT") == "1000"
    assert coin_from_symbol("100000XUSDT") == "X"


def test_coin_cache_memoises_and_stays_bounded() -> None:
    cache = CoinCache(limit=2)
    assert cache.coin("1000PEPEUSDT") == "PEPE"
    assert cache.coin("1000PEPEUSDT") == "PEPE"
    assert cache.coin("BTCUSDT") == "BTC"
    assert cache.coin("ETH-USDT-SWAP") == "ETH"  # clears the full cache, still correct
    assert len(cache._coins) <= 2


@pytest.mark.parametrize(
    "raw", ["nan", "NaN", "inf", "-inf", "Infinity", "0", "0.0", "-1", "", "abc", None, True,
            [], {}, 10**400, "1e999", float("nan"), float("inf")]
)  # fmt: skip
def test_positive_rejects(raw: object) -> None:
    assert positive(raw) is None


def test_positive_accepts_strings_and_numbers() -> None:
    assert positive("0.04499") == 0.04499
    assert positive(9910) == 9910.0
    assert positive(2.5) == 2.5
    assert positive("1e-8") == 1e-8


@pytest.mark.parametrize(
    ("raw", "ms"),
    [(1692266434010, 1692266434010), ("1692266434010", 1692266434010)],
)
def test_epoch_ms_accepts(raw: object, ms: int) -> None:
    assert epoch_ms(raw) == ms


@pytest.mark.parametrize(
    "raw", [0, -5, True, 1.5e12, "1.5", "-1", "", "12a", "１２３", 10**20, None, [1], math.pi]
)
def test_epoch_ms_rejects(raw: object) -> None:
    assert epoch_ms(raw) is None

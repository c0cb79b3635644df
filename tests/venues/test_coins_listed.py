"""Each venue's reference data names the coins a chat may watch before any liquidation."""

import json

from bot.venues.binance.feed import BinanceSource
from bot.venues.bybit.feed import BybitSource
from bot.venues.okx.feed import OkxSource


def test_bybit_lists_base_coins_of_trading_symbols() -> None:
    src = BybitSource("wss://example.invalid/v5/public/linear")
    assert src.coins() == frozenset()
    body = {
        "retCode": 0,
        "result": {
            "list": [
                {"symbol": "BTCUSDT", "status": "Trading"},
                {"symbol": "1000PEPEUSDT", "status": "Trading"},
                {"symbol": "OLDUSDT", "status": "Closed"},
            ],
            "nextPageCursor": "",
        },
    }
    src.on_rest(src.rest_paths()[0], json.dumps(body))
    assert src.coins() == {"BTC", "PEPE"}


def test_okx_lists_coins_of_known_contracts() -> None:
    src = OkxSource("wss://example.invalid/ws/v5/public")
    body = {
        "code": "0",
        "data": [
            {"instId": "BTC-USDT-SWAP", "ctVal": "0.01", "ctMult": "1", "ctType": "linear"},
            {"instId": "ETH-USD-SWAP", "ctVal": "10", "ctMult": "1", "ctType": "inverse"},
        ],
    }
    src.on_rest(src.rest_paths()[0], json.dumps(body))
    assert src.coins() == {"BTC", "ETH"}


def test_binance_has_no_reference_list() -> None:
    assert BinanceSource("wss://example.invalid/market").coins() == frozenset()

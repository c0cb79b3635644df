"""Settings: defaults, overrides and one clear line for each bad value."""

from pathlib import Path

import pytest

from bot.config import ConfigError, Settings


def test_defaults_match_the_documented_contract() -> None:
    s = Settings.from_env({})
    assert s.db_path == Path("data/liqwatch.db")
    assert s.exchanges == ("binance", "bybit", "okx")
    assert s.binance_ws_url == "wss://fstream.binance.com/market"
    assert s.binance_rest_url == "https://fapi.binance.com"
    assert s.bybit_ws_url == "wss://stream.bybit.com/v5/public/linear"
    assert s.bybit_rest_url == "https://api.bybit.com"
    assert s.okx_ws_url == "wss://ws.okx.com:8443/ws/v5/public"
    assert s.okx_rest_url == "https://www.okx.com"
    assert s.retention_days == 30
    assert s.log_level == "INFO"
    assert s.telegram_token is None
    assert s.telegram_api_url == "https://api.telegram.org/bot"
    assert s.default_rules == "1h=100M,24h=1B"


def test_overrides_are_read_and_normalised() -> None:
    s = Settings.from_env(
        {
            "LIQWATCH_DB": "/tmp/x/y.db",
            "LIQWATCH_EXCHANGES": " OKX, bybit ,okx",
            "LIQWATCH_BYBIT_WS_URL": "ws://127.0.0.1:9001/v5/public/linear",
            "LIQWATCH_OKX_REST_URL": "http://127.0.0.1:9002/",
            "LIQWATCH_RETENTION_DAYS": "7.5",
            "LIQWATCH_LOG_LEVEL": "debug",
            "TELEGRAM_BOT_TOKEN": " 123:abc ",
        }
    )
    assert s.db_path == Path("/tmp/x/y.db")
    assert s.exchanges == ("okx", "bybit")
    assert s.ws_url("bybit") == "ws://127.0.0.1:9001/v5/public/linear"
    assert s.rest_url("okx") == "http://127.0.0.1:9002"
    assert s.retention_days == 7.5
    assert s.log_level == "DEBUG"
    assert s.telegram_token == "123:abc"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("LIQWATCH_EXCHANGES", "binance,kraken"),
        ("LIQWATCH_EXCHANGES", ",,"),
        ("LIQWATCH_BINANCE_WS_URL", "fstream.binance.com/market"),
        ("LIQWATCH_BYBIT_WS_URL", "https://stream.bybit.com"),
        ("LIQWATCH_OKX_REST_URL", "http://"),
        ("LIQWATCH_BINANCE_REST_URL", "http://127.0.0.1:notaport"),
        ("LIQWATCH_RETENTION_DAYS", "thirty"),
        ("LIQWATCH_RETENTION_DAYS", "-1"),
        ("LIQWATCH_RETENTION_DAYS", "nan"),
        ("LIQWATCH_LOG_LEVEL", "LOUD"),
        ("TELEGRAM_API_URL", "api.telegram.org/bot"),
    ],
)
def test_bad_values_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env({name: value})
    message = str(info.value)
    assert message.startswith(name + ":")
    assert "\n" not in message

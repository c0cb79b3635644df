"""Settings: defaults, overrides and one clear line for each bad value."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from dotenv import dotenv_values
from hypothesis import given
from hypothesis import strategies as st

from bot.cli import main
from bot.config import ConfigError, Settings

ENV_EXAMPLE = Path(__file__).resolve().parents[1] / ".env.example"
# Every variable Settings.from_env reads (the documented contract).
VARIABLES = (
    "LIQWATCH_DB",
    "LIQWATCH_EXCHANGES",
    "LIQWATCH_BINANCE_WS_URL",
    "LIQWATCH_BINANCE_REST_URL",
    "LIQWATCH_BYBIT_WS_URL",
    "LIQWATCH_BYBIT_REST_URL",
    "LIQWATCH_OKX_WS_URL",
    "LIQWATCH_OKX_REST_URL",
    "LIQWATCH_RETENTION_DAYS",
    "LIQWATCH_LOG_LEVEL",
    "TELEGRAM_BOT_TOKEN",
    "TELEGRAM_API_URL",
    "LIQWATCH_DEFAULT_RULES",
    "LIQWATCH_FUNDING_POLL_S",
)


def test_defaults_match_the_documented_contract() -> None:
    s = Settings.from_env({})
    assert s.db_path == Path("data/liqwatch.db")
    assert s.exchanges == ("binance", "bybit", "okx")
    assert s.ws_url("binance") == "wss://fstream.binance.com/market"
    assert s.rest_url("binance") == "https://fapi.binance.com"
    assert s.ws_url("bybit") == "wss://stream.bybit.com/v5/public/linear"
    assert s.rest_url("bybit") == "https://api.bybit.com"
    assert s.ws_url("okx") == "wss://ws.okx.com:8443/ws/v5/public"
    assert s.rest_url("okx") == "https://www.okx.com"
    assert s.retention_days == 30
    assert s.log_level == "INFO"
    assert s.telegram_token is None
    assert s.telegram_api_url == "https://api.telegram.org/bot"
    assert s.default_rules == {"1h": 100e6, "24h": 1e9}
    assert s.funding_poll_s == 60


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
            "LIQWATCH_DEFAULT_RULES": " 5m = $2.5M , 4h=750K ",
            "LIQWATCH_FUNDING_POLL_S": "1",
        }
    )
    assert s.db_path == Path("/tmp/x/y.db")
    assert s.exchanges == ("okx", "bybit")
    assert s.ws_url("bybit") == "ws://127.0.0.1:9001/v5/public/linear"
    assert s.rest_url("okx") == "http://127.0.0.1:9002"
    assert s.retention_days == 7.5
    assert s.log_level == "DEBUG"
    assert s.telegram_token == "123:abc"
    assert s.default_rules == {"5m": 2.5e6, "4h": 750e3}
    assert s.funding_poll_s == 1.0
    assert Settings.from_env({"LIQWATCH_DEFAULT_RULES": "off"}).default_rules == {}
    assert Settings.from_env({"TELEGRAM_BOT_TOKEN": "  "}).telegram_token is None


BAD_VALUES = [
    ("LIQWATCH_DB", "   "),
    ("LIQWATCH_DB", "."),  # a folder, not a file
    ("LIQWATCH_DB", "data\nliqwatch.db"),
    ("LIQWATCH_EXCHANGES", ""),
    ("LIQWATCH_EXCHANGES", "binance,kraken"),
    ("LIQWATCH_EXCHANGES", ",,"),
    ("LIQWATCH_BINANCE_WS_URL", "fstream.binance.com/market"),
    ("LIQWATCH_BINANCE_WS_URL", ""),
    ("LIQWATCH_BINANCE_REST_URL", "http://127.0.0.1:notaport"),
    ("LIQWATCH_BINANCE_REST_URL", "http://127.0.0.1:99999"),
    ("LIQWATCH_BYBIT_WS_URL", "https://stream.bybit.com"),
    ("LIQWATCH_BYBIT_REST_URL", "wss://api.bybit.com"),
    ("LIQWATCH_OKX_WS_URL", "wss://[::1"),
    ("LIQWATCH_OKX_REST_URL", "http://"),
    ("LIQWATCH_OKX_REST_URL", "https://www.okx .com"),
    ("LIQWATCH_RETENTION_DAYS", "thirty"),
    ("LIQWATCH_RETENTION_DAYS", "-1"),
    ("LIQWATCH_RETENTION_DAYS", "0"),
    ("LIQWATCH_RETENTION_DAYS", "nan"),
    ("LIQWATCH_RETENTION_DAYS", "inf"),
    ("LIQWATCH_RETENTION_DAYS", "1e300"),  # does not fit an SQLite integer once in ms
    ("LIQWATCH_RETENTION_DAYS", ""),
    ("LIQWATCH_LOG_LEVEL", "LOUD"),
    ("LIQWATCH_LOG_LEVEL", ""),
    ("TELEGRAM_BOT_TOKEN", "123:abc def"),
    ("TELEGRAM_BOT_TOKEN", "not-a-token"),
    ("TELEGRAM_API_URL", "api.telegram.org/bot"),
    ("TELEGRAM_API_URL", ""),
    ("LIQWATCH_DEFAULT_RULES", "garbage"),
    ("LIQWATCH_DEFAULT_RULES", "3h=5M"),
    ("LIQWATCH_DEFAULT_RULES", "1h=100M,1h=5M"),
    ("LIQWATCH_DEFAULT_RULES", "1h=0"),
    ("LIQWATCH_DEFAULT_RULES", ""),
    ("LIQWATCH_FUNDING_POLL_S", "soon"),
    ("LIQWATCH_FUNDING_POLL_S", "0"),
    ("LIQWATCH_FUNDING_POLL_S", "0.5"),
    ("LIQWATCH_FUNDING_POLL_S", "86400"),
    ("LIQWATCH_FUNDING_POLL_S", ""),
]


@pytest.mark.parametrize(("name", "value"), BAD_VALUES)
def test_bad_values_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env({name: value})
    message = str(info.value)
    assert message.startswith(name + ":")
    assert "\n" not in message


def test_every_variable_has_a_bad_value_tested() -> None:
    assert {name for name, _ in BAD_VALUES} == set(VARIABLES)


def test_env_example_documents_every_variable_with_the_defaults() -> None:
    example = {k: v or "" for k, v in dotenv_values(ENV_EXAMPLE).items()}
    assert set(example) == set(VARIABLES)
    assert Settings.from_env(example) == Settings.from_env({})


@pytest.mark.parametrize("name", [v for v in VARIABLES if v != "TELEGRAM_BOT_TOKEN"])
def test_set_but_empty_is_an_error_not_the_default(name: str) -> None:
    # Only the token may be empty (.env.example ships it so: console mode).
    for empty in ("", "  ", "\t"):
        with pytest.raises(ConfigError, match=f"^{name}: set but empty"):
            Settings.from_env({name: empty})


def test_empty_venue_list_is_an_error() -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env({"LIQWATCH_EXCHANGES": ""})
    assert str(info.value).startswith("LIQWATCH_EXCHANGES: set but empty")
    assert "binance, bybit, okx" in str(info.value)


def test_a_bad_token_is_refused_without_showing_it() -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env({"TELEGRAM_BOT_TOKEN": "987654321:Zq9-hidden value"})
    assert "987654321" not in str(info.value) and "hidden" not in str(info.value)


def test_default_rules_garbage_names_the_bad_part() -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env({"LIQWATCH_DEFAULT_RULES": "1h=100M,garbage"})
    assert str(info.value).startswith("LIQWATCH_DEFAULT_RULES: bad rule")
    assert "garbage" in str(info.value) and "off" in str(info.value)


@given(name=st.sampled_from(VARIABLES), value=st.text(max_size=80))
def test_any_text_either_parses_or_is_one_line_naming_the_variable(name: str, value: str) -> None:
    try:
        Settings.from_env({name: value})
    except ConfigError as exc:
        message = str(exc)
        assert message.startswith(name + ":") and "\n" not in message
        assert message.isprintable()


@pytest.mark.parametrize(("name", "value"), BAD_VALUES)
def test_cli_refuses_each_bad_value_in_one_line(
    name: str,
    value: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)  # no developer .env leaks in
    monkeypatch.setenv("LIQWATCH_DB", str(tmp_path / "bot.db"))
    monkeypatch.setenv(name, value)
    assert main(["run"]) == 2
    err = capsys.readouterr().err
    assert err.endswith("\n") and err.count("\n") == 1
    assert err.startswith(f"liqwatch: configuration error: {name}:")
    assert not (tmp_path / "bot.db").exists()  # nothing started


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("LIQWATCH_DEFAULT_RULES", "garbage"),
        ("LIQWATCH_EXCHANGES", ""),
        ("TELEGRAM_BOT_TOKEN", "no token"),
    ],
)
def test_liqwatch_run_process_exits_with_one_line_and_no_traceback(
    name: str, value: str, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LIQWATCH_", "TELEGRAM_"))}
    env.update({"LIQWATCH_DB": str(tmp_path / "bot.db"), name: value})
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "run"],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(ENV_EXAMPLE.parent)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"liqwatch: configuration error: {name}:")
    assert "Traceback" not in done.stderr and done.stdout == ""
    assert not (tmp_path / "bot.db").exists()


@pytest.mark.parametrize("command", [["run"], ["totals"], ["replay", "rec.jsonl"]])
def test_a_database_that_cannot_be_opened_is_one_line(
    command: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rec.jsonl").write_text("")
    junk = tmp_path / "notes.db"
    junk.write_text("not an SQLite file\n")
    monkeypatch.setenv("LIQWATCH_DB", str(junk))
    assert main(command) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("liqwatch: configuration error: LIQWATCH_DB: cannot open")
    assert "file is not a database" in err


def test_venue_url_variables_follow_the_registry() -> None:
    # One rule for every registered venue; a new venue must be documented and tested here.
    from bot.config import venue_var
    from bot.venues.registry import REGISTRY

    generated = {venue_var(v.name, kind) for v in REGISTRY for kind in ("WS", "REST")}
    listed = {n for n in VARIABLES if n.startswith("LIQWATCH_") and n.endswith("_URL")}
    assert generated == listed
    s = Settings.from_env({"LIQWATCH_OKX_WS_URL": "ws://127.0.0.1:9/ws"})
    assert s.ws_url("okx") == "ws://127.0.0.1:9/ws"
    assert s.ws_url("binance") == "wss://fstream.binance.com/market"

"""Typed configuration, read once at start-up from the environment (and ``.env``).

Every name here is a contract with operators and tests. A bad value stops start-up with
one line naming the variable (``ConfigError``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from bot.events import VENUES


class ConfigError(ValueError):
    """A configuration value is unusable; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    """Everything the application is configured with; built once and passed in."""

    db_path: Path = Path("data/liqwatch.db")
    exchanges: tuple[str, ...] = VENUES
    binance_ws_url: str = "wss://fstream.binance.com/market"
    binance_rest_url: str = "https://fapi.binance.com"
    bybit_ws_url: str = "wss://stream.bybit.com/v5/public/linear"
    bybit_rest_url: str = "https://api.bybit.com"
    okx_ws_url: str = "wss://ws.okx.com:8443/ws/v5/public"
    okx_rest_url: str = "https://www.okx.com"
    retention_days: float = 30.0
    log_level: str = "INFO"
    telegram_token: str | None = None
    telegram_api_url: str = "https://api.telegram.org/bot"
    default_rules: str = "1h=100M,24h=1B"
    funding_poll_s: float = 60.0

    def ws_url(self, venue: str) -> str:
        """The websocket base URL configured for ``venue``."""
        return str(getattr(self, f"{venue}_ws_url"))

    def rest_url(self, venue: str) -> str:
        """The REST base URL configured for ``venue`` (no trailing slash)."""
        return str(getattr(self, f"{venue}_rest_url")).rstrip("/")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Build settings from ``env`` (default: ``os.environ``), validating every value."""
        env = os.environ if env is None else env
        d = cls()

        def get(name: str, default: str) -> str:
            value = env.get(name)
            return default if value is None or value.strip() == "" else value.strip()

        def ws(name: str, default: str) -> str:
            return _url(name, get(name, default), ("ws", "wss"))

        def http(name: str, default: str) -> str:
            return _url(name, get(name, default), ("http", "https"))

        def positive(name: str, default: float) -> float:
            return _positive(name, get(name, str(default)))

        return cls(
            db_path=Path(get("LIQWATCH_DB", str(d.db_path))),
            exchanges=_exchanges(get("LIQWATCH_EXCHANGES", ",".join(d.exchanges))),
            binance_ws_url=ws("LIQWATCH_BINANCE_WS_URL", d.binance_ws_url),
            binance_rest_url=http("LIQWATCH_BINANCE_REST_URL", d.binance_rest_url),
            bybit_ws_url=ws("LIQWATCH_BYBIT_WS_URL", d.bybit_ws_url),
            bybit_rest_url=http("LIQWATCH_BYBIT_REST_URL", d.bybit_rest_url),
            okx_ws_url=ws("LIQWATCH_OKX_WS_URL", d.okx_ws_url),
            okx_rest_url=http("LIQWATCH_OKX_REST_URL", d.okx_rest_url),
            retention_days=positive("LIQWATCH_RETENTION_DAYS", d.retention_days),
            log_level=_log_level(get("LIQWATCH_LOG_LEVEL", d.log_level)),
            telegram_token=env.get("TELEGRAM_BOT_TOKEN", "").strip() or None,
            telegram_api_url=http("TELEGRAM_API_URL", d.telegram_api_url),
            default_rules=get("LIQWATCH_DEFAULT_RULES", d.default_rules),
            funding_poll_s=positive("LIQWATCH_FUNDING_POLL_S", d.funding_poll_s),
        )


def load_dotenv_file(path: str | Path = ".env") -> None:
    """Load ``.env`` into the process environment without overriding set variables."""
    from dotenv import load_dotenv

    load_dotenv(path, override=False)


def _exchanges(raw: str) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(n.strip().lower() for n in raw.split(",") if n.strip()))
    unknown = [n for n in names if n not in VENUES]
    if unknown or not names:
        raise ConfigError(
            f"LIQWATCH_EXCHANGES: unknown venue {', '.join(unknown) or '(none given)'}; "
            f"choose from {', '.join(VENUES)}"
        )
    return names


def _url(name: str, raw: str, schemes: tuple[str, ...]) -> str:
    parsed = urlparse(raw)
    if parsed.scheme not in schemes or not parsed.hostname:
        raise ConfigError(f"{name}: {raw!r} is not a {'/'.join(schemes)} URL")
    try:
        parsed.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise ConfigError(f"{name}: {raw!r} has a bad port") from exc
    return raw


def _positive(name: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}: {raw!r} is not a number") from None
    if not value > 0 or value == float("inf"):
        raise ConfigError(f"{name}: {raw!r} must be a positive number")
    return value


def _log_level(raw: str) -> str:
    level = raw.upper()
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
        raise ConfigError(f"LIQWATCH_LOG_LEVEL: {raw!r} is not one of DEBUG, INFO, WARNING, ERROR")
    return level

"""Typed configuration, read once at start-up from the environment (and ``.env``).

Every name here is a contract with operators and tests. A bad value stops start-up with
one line naming the variable (``ConfigError``).

Empty values: a variable that is unset gets its default. A variable that is set but empty
(``LIQWATCH_EXCHANGES=``) is an error, because an operator who blanks a value means
*something* and a silent default ("all venues") is rarely it. The one exception is
``TELEGRAM_BOT_TOKEN``: ``.env.example`` ships it empty, and empty means console mode.
``LIQWATCH_DEFAULT_RULES=off`` (not empty) means no default rules.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Final
from urllib.parse import urlparse

from bot.units import ArgError, parse_rules_spec
from bot.venues.registry import REGISTRY, VENUES, venue_info

DEFAULT_RULES: Final[Mapping[str, float]] = MappingProxyType({"1h": 100e6, "24h": 1e9})
# Bounds an operator cannot mean to exceed: past them a value breaks arithmetic (a
# retention of 1e300 days does not fit an SQLite integer) or hammers the venues.
MAX_RETENTION_DAYS: Final = 3650.0
MIN_POLL_S: Final = 1.0
# Funding intervals can be 1 h; two polls less than an hour apart are what lets the poller
# see an interval change at the settlement where it happens (bot.venues.intervals).
MAX_POLL_S: Final = 1800.0
# The shape @BotFather hands out (digits, a colon, letters/digits/-/_); anything else would
# make a broken Bot API URL. The token itself never appears in a message.
_TOKEN_RE: Final = re.compile(r"[0-9]+:[A-Za-z0-9_-]+")


class ConfigError(ValueError):
    """A configuration value is unusable; the message names the variable."""


def venue_var(venue: str, kind: str) -> str:
    """``LIQWATCH_<VENUE>_<KIND>_URL``: the variable of one venue's ``WS`` or ``REST`` URL."""
    return f"LIQWATCH_{venue.upper()}_{kind}_URL"


@dataclass(frozen=True, slots=True)
class MarketConfig:
    """What the funding / open-interest poller uses: the venues it polls, each venue's
    REST base URL (resolved, no trailing slash) and the poll interval."""

    venues: tuple[str, ...]
    rest_urls: Mapping[str, str]
    funding_poll_s: float = 60.0

    def rest_url(self, venue: str) -> str:
        """The REST base URL of ``venue`` (``KeyError`` for a venue that is not enabled)."""
        return self.rest_urls[venue]


@dataclass(frozen=True, slots=True)
class StoreConfig:
    """What the storage side uses: the SQLite file and how long raw events are kept."""

    db_path: Path
    retention_days: float = 30.0


@dataclass(frozen=True, slots=True)
class FeedConfig:
    """What the venue feeds use: the enabled venues and their resolved websocket and REST
    base URLs."""

    venues: tuple[str, ...]
    ws_urls: Mapping[str, str]
    rest_urls: Mapping[str, str]

    def ws_url(self, venue: str) -> str:
        """The websocket base URL of ``venue`` (``KeyError`` if it is not enabled)."""
        return self.ws_urls[venue]

    def rest_url(self, venue: str) -> str:
        """The REST base URL of ``venue`` (``KeyError`` if it is not enabled)."""
        return self.rest_urls[venue]


@dataclass(frozen=True, slots=True)
class CoreConfig:
    """The data core's part of the settings: storage, feeds and market poll."""

    store: StoreConfig
    feeds: FeedConfig
    market: MarketConfig


@dataclass(frozen=True)
class Settings:
    """Everything the application is configured with; built once and passed in.

    ``default_rules`` maps window -> USD threshold (``LIQWATCH_DEFAULT_RULES`` parsed).
    """

    db_path: Path = Path("data/liqwatch.db")
    exchanges: tuple[str, ...] = VENUES
    # Venue -> URL, only where it differs from the venue's default (``VenueInfo``).
    ws_urls: Mapping[str, str] = field(default_factory=dict)
    rest_urls: Mapping[str, str] = field(default_factory=dict)
    retention_days: float = 30.0
    log_level: str = "INFO"
    telegram_token: str | None = None
    telegram_api_url: str = "https://api.telegram.org/bot"
    default_rules: Mapping[str, float] = field(default_factory=lambda: DEFAULT_RULES)
    funding_poll_s: float = 60.0

    def ws_url(self, venue: str) -> str:
        """The websocket base URL configured for ``venue`` (``ValueError`` if unknown)."""
        return self.ws_urls.get(venue) or venue_info(venue).ws_url

    def rest_url(self, venue: str) -> str:
        """The REST base URL configured for ``venue`` (no trailing slash)."""
        return (self.rest_urls.get(venue) or venue_info(venue).rest_url).rstrip("/")

    def market_config(self) -> MarketConfig:
        """The market poller's part: enabled venues, their REST URLs, the poll interval."""
        rest = MappingProxyType({v: self.rest_url(v) for v in self.exchanges})
        return MarketConfig(self.exchanges, rest, self.funding_poll_s)

    def feed_config(self) -> FeedConfig:
        """The feeds' part: enabled venues and their websocket and REST URLs."""
        ws = MappingProxyType({v: self.ws_url(v) for v in self.exchanges})
        rest = MappingProxyType({v: self.rest_url(v) for v in self.exchanges})
        return FeedConfig(self.exchanges, ws, rest)

    def core_config(self) -> CoreConfig:
        """The data core's part (``bot.core.Core.open``), resolved once."""
        return CoreConfig(
            StoreConfig(self.db_path, self.retention_days),
            self.feed_config(),
            self.market_config(),
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Build settings from ``env`` (default: ``os.environ``), validating every value."""
        env = os.environ if env is None else env
        d = cls()

        def get(name: str, default: str, hint: str = "") -> str:
            value = env.get(name)
            if value is None:
                return default
            if value.strip() == "":
                hint = hint or f"remove the line for the default {default}"
                raise ConfigError(f"{name}: set but empty; {hint}")
            return value.strip()

        def ws(name: str, default: str) -> str:
            return _url(name, get(name, default), ("ws", "wss"))

        def http(name: str, default: str) -> str:
            return _url(name, get(name, default), ("http", "https"))

        return cls(
            db_path=_db_path(get("LIQWATCH_DB", str(d.db_path))),
            exchanges=_exchanges(
                get(
                    "LIQWATCH_EXCHANGES",
                    ",".join(d.exchanges),
                    f"name at least one of {', '.join(VENUES)} (remove the line for all)",
                )
            ),
            # One rule for every venue of the registry, so a new venue needs no code here.
            ws_urls={v.name: ws(venue_var(v.name, "WS"), v.ws_url) for v in REGISTRY},
            rest_urls={v.name: http(venue_var(v.name, "REST"), v.rest_url) for v in REGISTRY},
            retention_days=_number(
                "LIQWATCH_RETENTION_DAYS",
                get("LIQWATCH_RETENTION_DAYS", f"{d.retention_days:g}"),
                0.0,
                MAX_RETENTION_DAYS,
            ),
            log_level=_log_level(get("LIQWATCH_LOG_LEVEL", d.log_level)),
            telegram_token=_token(env.get("TELEGRAM_BOT_TOKEN", "")),
            telegram_api_url=http("TELEGRAM_API_URL", d.telegram_api_url),
            default_rules=_rules(
                get(
                    "LIQWATCH_DEFAULT_RULES",
                    "1h=100M,24h=1B",
                    "write off for no default rules, or remove the line for 1h=100M,24h=1B",
                )
            ),
            funding_poll_s=_number(
                "LIQWATCH_FUNDING_POLL_S",
                get("LIQWATCH_FUNDING_POLL_S", f"{d.funding_poll_s:g}"),
                MIN_POLL_S,
                MAX_POLL_S,
                low_inclusive=True,
            ),
        )


def load_dotenv_file(path: str | Path = ".env") -> None:
    """Load ``.env`` into the process environment without overriding set variables."""
    from dotenv import load_dotenv

    load_dotenv(path, override=False)


def _q(raw: str, limit: int = 60) -> str:
    """A value quoted for a one-line message (``repr`` escapes newlines), shortened."""
    return repr(raw[:limit]) + ("…" if len(raw) > limit else "")


def _db_path(raw: str) -> Path:
    if any(not ch.isprintable() for ch in raw):
        raise ConfigError(f"LIQWATCH_DB: {_q(raw)} contains control characters")
    path = Path(raw)
    if path.is_dir():
        raise ConfigError(f"LIQWATCH_DB: {_q(raw)} is a folder; name the SQLite file in it")
    for parent in path.parents:
        if parent.exists() and not parent.is_dir():
            raise ConfigError(f"LIQWATCH_DB: {_q(str(parent))} is a file, not a folder")
    return path


def _exchanges(raw: str) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(n.strip().lower() for n in raw.split(",") if n.strip()))
    unknown = [n for n in names if n not in VENUES]
    choose = f"choose from {', '.join(VENUES)}"
    if not names:
        raise ConfigError(f"LIQWATCH_EXCHANGES: {_q(raw)} names no venue; {choose}")
    if unknown:
        shown = ", ".join(repr(n) for n in unknown)
        raise ConfigError(f"LIQWATCH_EXCHANGES: unknown venue {shown}; {choose}")
    return names


def _url(name: str, raw: str, schemes: tuple[str, ...]) -> str:
    kind = "/".join(schemes)
    if any(ch.isspace() or not ch.isprintable() for ch in raw):
        raise ConfigError(f"{name}: {_q(raw)} is not a {kind} URL (spaces or control characters)")
    try:
        parsed = urlparse(raw)
        parsed.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:  # a bad port, or an unbalanced [ of an IPv6 host
        raise ConfigError(f"{name}: {_q(raw)} is not a {kind} URL ({exc})") from None
    if parsed.scheme not in schemes or not parsed.hostname:
        raise ConfigError(f"{name}: {_q(raw)} is not a {kind} URL")
    return raw


def _number(name: str, raw: str, low: float, high: float, *, low_inclusive: bool = False) -> float:
    """A finite number above ``low`` (or at it) and at most ``high``."""
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}: {_q(raw)} is not a number") from None
    above = value >= low if low_inclusive else value > low
    if not (above and value <= high):  # also false for nan
        least = f"at least {low:g}" if low_inclusive else f"more than {low:g}"
        raise ConfigError(f"{name}: {_q(raw)} is out of range; use {least} and at most {high:g}")
    return value


def _log_level(raw: str) -> str:
    level = raw.upper()
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
        raise ConfigError(
            f"LIQWATCH_LOG_LEVEL: {_q(raw)} is not one of DEBUG, INFO, WARNING, ERROR"
        )
    return level


def _token(raw: str) -> str | None:
    token = raw.strip()
    if not token:
        return None  # console mode, as .env.example ships it
    if _TOKEN_RE.fullmatch(token) is None:
        raise ConfigError(
            "TELEGRAM_BOT_TOKEN: not a bot token (expected the 123456:ABC-... form from "
            "@BotFather); leave it empty for console mode"
        )
    return token


def _rules(raw: str) -> Mapping[str, float]:
    try:
        return MappingProxyType(parse_rules_spec(raw))
    except ArgError as exc:
        raise ConfigError(
            f"LIQWATCH_DEFAULT_RULES: {exc}; write e.g. 1h=100M,24h=1B, or off"
        ) from None

"""Parsing of command arguments (amounts, windows, durations, coins) and compact formatting.

Every parser takes untrusted text and either returns a value or raises :class:`ArgError`
whose message is one line a user can act on; nothing else escapes. Formatting is the
reverse: :func:`format_usd` output parses back with :func:`parse_amount` to within its
rounding.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Final

from bot.domain import MINUTE_MS, WINDOWS


class ArgError(ValueError):
    """A command argument is unusable; ``str(err)`` is one line saying what was wrong."""


# Windows users may name in /threshold, /watch and /top (7d is kept for queries only).
RULE_WINDOWS: Final = ("5m", "15m", "1h", "4h", "12h", "24h")

MIN_AMOUNT: Final = 1.0
MAX_AMOUNT: Final = 1e12  # $1T: far above any real liquidation total, so larger is a typo

MIN_MUTE_MS: Final = MINUTE_MS
MAX_MUTE_MS: Final = 30 * 24 * 60 * MINUTE_MS

_SUFFIX: Final = {"": 1, "k": 10**3, "m": 10**6, "b": 10**9, "t": 10**12}
_AMOUNT_RE: Final = re.compile(
    r"""\$?
    (?P<num>(?:[0-9]{1,3}(?:[,_][0-9]{3})+|[0-9]+)(?:\.[0-9]+)?|\.[0-9]+)
    (?P<suffix>[kmbt]?)""",
    re.VERBOSE | re.IGNORECASE | re.ASCII,
)
_SPAN_RE: Final = re.compile(r"([0-9]{1,6})([mhd])", re.IGNORECASE | re.ASCII)
_SPAN_MS: Final = {"m": MINUTE_MS, "h": 60 * MINUTE_MS, "d": 24 * 60 * MINUTE_MS}
_DURATION_RE: Final = re.compile(r"(?:[0-9]{1,6}[mhd])+", re.IGNORECASE | re.ASCII)
_TICKER_RE: Final = re.compile(r"[A-Z0-9]{1,20}", re.ASCII)
# Quote/contract suffixes glued to the base in venue symbols (BTCUSDT, BTCPERP).
_GLUED_SUFFIXES: Final = ("PERP", "USDT", "USDC")


def _show(text: str, limit: int = 24) -> str:
    """The user's input, quoted, shortened and flattened to one line for an error message."""
    flat = " ".join(text.split())
    flat = "".join(ch if ch.isprintable() else "?" for ch in flat)
    return f'"{flat[:limit]}…"' if len(flat) > limit else f'"{flat}"'


def parse_amount(text: str) -> float:
    """Parse a USD amount: ``250M``, ``1.5B``, ``750k``, ``$250M``, ``250,000,000``.

    Suffixes K/M/B/T are case-insensitive; a leading ``$`` and thousands separators
    (commas or underscores, in groups of three) are accepted. The result is between
    ``MIN_AMOUNT`` ($1) and ``MAX_AMOUNT`` ($1T) inclusive.
    """
    raw = text.strip()
    if raw.startswith("-") or raw.startswith("$-"):
        raise ArgError(f"amount must be positive, got {_show(raw)}")
    match = _AMOUNT_RE.fullmatch(raw)
    if match is None:
        raise ArgError(f"{_show(raw)} is not an amount; write e.g. 250M, 1.5B or 750K")
    try:
        number = Decimal(match["num"].replace(",", "").replace("_", ""))
    except InvalidOperation:  # pragma: no cover - the regex only lets decimals through
        raise ArgError(f"{_show(raw)} is not an amount") from None
    value = float(number * _SUFFIX[match["suffix"].lower()])
    if value == 0:
        raise ArgError(f"amount must be more than zero, got {_show(raw)}")
    if value < MIN_AMOUNT:
        raise ArgError(f"amount {_show(raw)} is too small; the minimum is $1")
    if value > MAX_AMOUNT:
        raise ArgError(f"amount {_show(raw)} is too large; the maximum is $1T")
    return value


def _span_ms(text: str) -> int | None:
    """Milliseconds of ``30m``/``2h``/``1d``-style text (parts may be chained), else None."""
    if _DURATION_RE.fullmatch(text) is None:
        return None
    return sum(int(n) * _SPAN_MS[unit.lower()] for n, unit in _SPAN_RE.findall(text))


def parse_window(text: str, allowed: Iterable[str] = RULE_WINDOWS) -> tuple[str, int]:
    """Parse a window name into ``(name, ms)`` using :data:`bot.domain.WINDOWS`.

    Matching is by length, so ``1H``, ``60m`` and ``1d`` name the ``1h`` and ``24h``
    windows. Only windows in ``allowed`` are accepted.
    """
    names = [name for name in allowed if name in WINDOWS]
    ms = _span_ms(text.strip())
    for name in names:
        if WINDOWS[name] == ms:
            return name, ms
    raise ArgError(f"unknown window {_show(text.strip())}; use {_or_list(names)}")


def parse_duration(text: str) -> int:
    """Parse a mute duration (``30m``, ``2h``, ``1d``, ``1h30m``) into milliseconds.

    Bounds: at least one minute, at most 30 days.
    """
    raw = text.strip()
    ms = _span_ms(raw)
    if ms is None:
        raise ArgError(f"{_show(raw)} is not a duration; write e.g. 30m, 2h or 1d")
    if ms < MIN_MUTE_MS:
        raise ArgError(f"duration {_show(raw)} is too short; the minimum is 1m")
    if ms > MAX_MUTE_MS:
        raise ArgError(f"duration {_show(raw)} is too long; the maximum is 30d")
    return ms


def normalize_coin(text: str) -> str:
    """Reduce a coin or venue symbol to the upper-case base ticker: ``btc`` -> ``BTC``.

    Accepts ``BTC``, ``$btc``, ``BTCUSDT``, ``BTC-USDT-SWAP``, ``BTC/USDT:USDT``,
    ``BTCUSD_PERP``. Only the shape is checked; whether the coin is listed is not.
    """
    raw = text.strip()
    # Separated symbols (OKX, ccxt, COIN-M): the base comes first.
    head, *rest = re.split(r"[-/:_]", raw.removeprefix("$").upper(), maxsplit=1)
    coin = head
    for suffix in _GLUED_SUFFIXES:
        if coin.endswith(suffix) and len(coin) > len(suffix):
            coin = coin.removesuffix(suffix)
    # A bare "USD" ending is only a quote in COIN-M symbols (BTCUSD_PERP); alone it may
    # belong to the coin's own name (TUSD, FDUSD).
    if rest and coin.endswith("USD") and len(coin) > 3:
        coin = coin.removesuffix("USD")
    if _TICKER_RE.fullmatch(coin) is None or coin.isdigit():
        raise ArgError(f"{_show(raw)} is not a coin; write e.g. BTC or ETHUSDT")
    return coin


def parse_rules_spec(text: str) -> dict[str, float]:
    """Parse ``LIQWATCH_DEFAULT_RULES`` (``1h=100M,24h=1B``) into ``{window: threshold}``.

    An empty value or ``off``/``none`` means no default rules.
    """
    raw = text.strip()
    if raw.lower() in {"", "off", "none"}:
        return {}
    rules: dict[str, float] = {}
    for part in raw.split(","):
        window_text, sep, amount_text = part.partition("=")
        if not sep:
            raise ArgError(f"bad rule {_show(part.strip())}: expected WINDOW=AMOUNT like 1h=100M")
        try:
            window, _ = parse_window(window_text)
            amount = parse_amount(amount_text)
        except ArgError as exc:
            raise ArgError(f"bad rule {_show(part.strip())}: {exc}") from None
        if window in rules:
            raise ArgError(f"bad rule {_show(part.strip())}: window {window} given twice")
        rules[window] = amount
    return rules


def format_usd(x: float) -> str:
    """Compact dollars: ``$343.2M``, ``$1.05B``, ``$850K``, ``$12.3K``, ``$950``, ``$0``.

    Rule: three significant figures (2 decimals below 10 units, 1 below 100, 0 from 100),
    except that M, B and T amounts of 100 units or more keep one decimal (``$343.2M``:
    headline totals show a tenth). Trailing zeros are trimmed (``$1.5B``, ``$1M``).
    Rounding happens before the unit is chosen, so 999,950 is ``$1M``, never ``$1000K``.
    Below $1,000 the amount is rounded to whole dollars.
    """
    if math.isnan(x) or math.isinf(x):
        raise ValueError(f"cannot format {x!r} as dollars")
    sign = "-" if x < 0 else ""
    x = abs(x)
    text = f"{x:.0f}"
    if float(text) < 1000:
        return f"{sign}${text}" if text != "0" else "$0"
    for unit, scale in (("K", 1e3), ("M", 1e6), ("B", 1e9), ("T", 1e12)):
        scaled = x / scale
        if scaled < 10:
            decimals = 2
        elif scaled < 100:
            decimals = 1
        else:
            decimals = 0 if unit == "K" else 1
        text = f"{scaled:.{decimals}f}"
        if float(text) < 1000 or unit == "T":
            break
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{sign}${text}{unit}"


def format_pct(share: float) -> str:
    """A share in [0, 1] as a whole percentage, halves rounded up: ``84%``.

    A share strictly between 0 and 1 % shows as ``<1%`` and one strictly between 99 %
    and 100 % as ``>99%``, so "0%" and "100%" are only ever exact. Plain text, like every
    formatter here: HTML callers escape it (``&lt;1%``); bot/text/rich.py does so for them.
    """
    if math.isnan(share):
        return "?%"
    pct = share * 100
    if 0 < pct < 1:
        return "<1%"
    if 99 < pct < 100:
        return ">99%"
    return f"{math.floor(pct + 0.5)}%"


def format_duration(ms: int | float) -> str:
    """A duration as its two largest units: ``2h 30m``, ``1d 4h``, ``45m``, ``12s``.

    Truncates to whole seconds; zero or negative is ``0s``.
    """
    seconds = int(max(ms, 0) // 1000)
    parts: list[str] = []
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count and not parts:
            parts.append(f"{count}{unit}")
        elif parts:
            if count:
                parts.append(f"{count}{unit}")
            break
    return " ".join(parts) or "0s"


def _or_list(names: list[str]) -> str:
    """``a, b or c``."""
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} or {names[-1]}"

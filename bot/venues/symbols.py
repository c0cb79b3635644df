"""Venue symbols to coins, and strict readers for the numbers venues put on the wire.

Everything here is pure. The readers return ``None`` for anything unusable so the venue
parsers can count a reject instead of raising.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, Final

import orjson

from bot.domain import Liquidation

# Longest first, so USDT wins over USD. One suffix is stripped, never the whole symbol.
_QUOTES: Final = ("FDUSD", "USDT", "USDC", "BUSD", "PERP", "USD")
# 1000PEPE, 10000LADYS, 1000000MOG (Binance, Bybit) and 1MBABYDOGE (Binance): a price
# multiplier in front of the coin, only when a letter follows (1INCH must stay).
_MULT_PREFIX: Final = re.compile(r"^(?:10{3,}|1M)(?=[A-Z])")
# SHIB1000 (Bybit puts the multiplier after the coin).
_MULT_SUFFIX: Final = re.compile(r"(?<=[A-Z])10{3,}$")

_INF: Final = float("inf")
# Venue event times are epoch milliseconds; anything outside this range is garbage
# (zero, negative, or far beyond any plausible date), not a time.
MAX_TS_MS: Final = 10**13

# Bounds on one liquidation, far beyond anything a venue has printed but low enough that
# sums, rule multiples and stored rows stay ordinary numbers. A value past them is a
# venue bug or garbage, rejected like invalid JSON (one absurd print once made the
# escalation multiple too big for SQLite and stopped all alerting).
# The largest single liquidations ever reported are a few hundred million USD.
MAX_USD: Final = 1e10
# No perpetual trades anywhere near $1B per unit (BTC is ~1e5); zero or below is not a price.
MAX_PRICE: Final = 1e9
# More units than the circulating supply of any coin listed as a perp (PEPE ~4e14, and the
# 1000x/1M-prefixed contracts count in thousands or millions).
MAX_QTY: Final = 1e15


def coin_from_symbol(symbol: str) -> str:
    """Base asset of a Binance, Bybit or OKX futures symbol, upper case.

    ``BTCUSDT``, ``BTCUSDT_250926``, ``BTCPERP``, ``BTC-26DEC25``, ``BTC-USDT-SWAP`` and
    ``BTC-USD-SWAP`` all give ``BTC``; ``1000PEPEUSDT`` gives ``PEPE``; ``1INCHUSDT``
    gives ``1INCH``.
    """
    s = symbol.strip().upper()
    for sep in ("-", "_"):
        if sep in s:
            s = s.split(sep, 1)[0]
    for quote in _QUOTES:
        if s.endswith(quote) and len(s) > len(quote):
            s = s[: -len(quote)]
            break
    s = _MULT_PREFIX.sub("", s, count=1)
    return _MULT_SUFFIX.sub("", s, count=1)


_orjson_loads: Final = orjson.loads


def loads(text: str) -> Any:
    """``json.loads(text)``, decoded by orjson whenever orjson accepts the text.

    orjson is several times faster on the hot path. What it refuses (NaN/Infinity
    literals, numbers beyond a double, lone surrogates, nesting deeper than 1024) goes to
    ``json.loads``, so parsers accept and reject the same texts as before; the one
    difference is that an integer beyond 64 bits arrives as its nearest float, which no
    reader treats differently (not a timestamp either way; the same amount). Raises
    ``ValueError`` or ``RecursionError`` on invalid JSON, like ``json.loads``.
    """
    try:
        return _orjson_loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


class CoinCache:
    """Memoised ``coin_from_symbol`` for one parser instance (hot path: a dict hit).

    Bounded so a venue sending endless junk symbols cannot grow memory without limit.
    """

    __slots__ = ("_coins", "_limit", "get")

    def __init__(self, limit: int = 20_000) -> None:
        self._coins: dict[str, str] = {}
        self._limit = limit
        # The cached coin of a symbol or None, without the method call of ``coin`` (the
        # dict is only ever cleared, never replaced, so the bound method stays valid).
        self.get: Callable[[str], str | None] = self._coins.get

    def coin(self, symbol: str) -> str:
        """The coin for ``symbol``, computed once per symbol."""
        coin = self._coins.get(symbol)
        if coin is None:
            coin = coin_from_symbol(symbol)
            if len(self._coins) >= self._limit:
                self._coins.clear()
            self._coins[symbol] = coin
        return coin


def positive(value: object) -> float | None:
    """A finite number > 0 from a JSON string or number; ``None`` otherwise.

    Rejects booleans, ``"nan"``/``"inf"``, zero, negatives and overflowing values.
    """
    # type() rather than isinstance(): exact JSON types only (bool is not a number here),
    # and it is the cheaper check on this hot path.
    cls = type(value)
    if cls is str or cls is float or cls is int:
        try:
            x = float(value)  # type: ignore[arg-type]
        except (ValueError, OverflowError):  # junk text; an integer with 400 digits
            return None
        # NaN fails both comparisons, so this also rejects it.
        return x if 0.0 < x < _INF else None
    return None


def finite_product(*factors: float) -> float | None:
    """Product of ``factors`` if it is > 0 and finite (no overflow, no underflow to zero)."""
    x = 1.0
    for f in factors:
        x *= f
    return x if 0.0 < x < _INF else None


def epoch_ms(value: object) -> int | None:
    """Epoch milliseconds from a JSON integer or a string of ASCII digits; ``None`` if
    absent, malformed or outside ``(0, MAX_TS_MS)``."""
    cls = type(value)
    if cls is int:
        ms: int = value  # type: ignore[assignment]
    elif cls is str:
        text: str = value  # type: ignore[assignment]
        if not (text.isascii() and text.isdigit() and len(text) < 16):
            return None
        ms = int(text)
    else:
        return None
    return ms if 0 < ms < MAX_TS_MS else None


def nonempty_str(value: object, limit: int = 64) -> str | None:
    """``value`` if it is a non-empty string of at most ``limit`` characters."""
    if isinstance(value, str) and 0 < len(value) <= limit:
        return value
    return None


def wire_symbol(value: object) -> str | None:
    """A venue symbol that can be stored and shown: 1 to 64 printable characters.

    Non-ASCII letters pass (Binance lists CJK-named contracts); control, format and
    lone-surrogate characters do not (a ``\\ud800`` escape decodes to a string SQLite
    cannot encode, which would make the whole batch unwritable).
    """
    if type(value) is str and 0 < len(value) <= 64 and value.isprintable():
        return value
    return None


def brief(value: object, limit: int = 160) -> str:
    """A short ``repr`` of a wire value for a reject sample (safe on deep nesting)."""
    try:
        return repr(value)[:limit]
    except RecursionError:
        return "<deeply nested value>"


def linear_event(
    venue: str, symbol: Any, side: str, qty: object, price: object, ts: object, coins: CoinCache
) -> Liquidation | None:
    """The event for a print whose USD notional is quantity × price (Binance ``z × ap``,
    Bybit ``v × p``), or None when a field is missing, non-numeric, not positive, or
    beyond ``MAX_QTY``/``MAX_PRICE``/``MAX_USD``. Strings (what the venues send) take the
    fast path; any other JSON type goes through the strict readers above.
    """
    if type(qty) is str and type(price) is str:
        try:
            q = float(qty)
            p = float(price)
        except ValueError:
            return None
    else:
        q = positive(qty) or 0.0
        p = positive(price) or 0.0
    if type(ts) is not int or not 0 < ts < MAX_TS_MS:
        ts = epoch_ms(ts)
    coin = coins.get(symbol) if type(symbol) is str else None
    if coin is None and wire_symbol(symbol) is not None:
        coin = coins.coin(symbol)
    # The comparisons are False for NaN, so NaN is rejected with the rest.
    if coin is None or ts is None or not (0.0 < q <= MAX_QTY and 0.0 < p <= MAX_PRICE):
        return None
    usd = q * p
    if not 0.0 < usd <= MAX_USD or not coin:  # absurd, or underflow to zero
        return None
    return Liquidation(venue, symbol, coin, side, p, q, usd, ts)


def bounded(qty: float, price: float, usd: float) -> bool:
    """True when one liquidation's figures are within the bounds above (NaN is not)."""
    return 0.0 < qty <= MAX_QTY and 0.0 < price <= MAX_PRICE and 0.0 < usd <= MAX_USD

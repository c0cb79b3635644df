"""What every market parser returns, and the readers only funding data needs.

The strict readers for prices, sizes and times live in ``bot.venues.symbols`` and are
reused; funding rates are the one signed quantity, so they get their own reader here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Final, Generic, TypeVar

from bot.domain import MarketSnapshot
from bot.venues.symbols import brief, loads

T = TypeVar("T")

# A funding rate is a fraction per interval; venue caps are a few percent. 100 % or more
# per interval is not a rate but garbage (or a unit mix-up), so it is rejected.
MAX_ABS_RATE: Final = 1.0
# Longest funding interval accepted, in hours (venues use 1, 2, 4, 6 and 8).
MAX_INTERVAL_H: Final = 24.0
_INF: Final = float("inf")


@dataclass(slots=True)
class Parsed(Generic[T]):
    """Items of one REST body keyed by venue symbol, with what was left out.

    ``error`` says why the body as a whole was unusable (not JSON, a venue error code,
    no list); ``rejects`` counts malformed items (``sample`` keeps the first reason);
    ``skipped`` counts well-formed items that are not wanted (dated futures).
    ``cursor`` is the next page's cursor for paginated endpoints.
    """

    items: dict[str, T] = field(default_factory=dict)
    rejects: int = 0
    skipped: int = 0
    sample: str = ""
    error: str | None = None
    cursor: str | None = None

    def reject(self, reason: str) -> None:
        """Count one malformed item; keep the first reason."""
        self.rejects += 1
        if not self.sample:
            self.sample = reason[:300]

    def fail(self, reason: str) -> Parsed[T]:
        """Mark the whole body unusable and return self."""
        self.error = reason[:300]
        return self


def signed_rate(value: object) -> float | None:
    """A funding rate from a JSON string or number: finite, |rate| < 1; else ``None``.

    Zero and negative rates are valid. Rejects booleans, empty strings (Binance and Bybit
    dated futures), ``"nan"``/``"inf"`` and overflowing values.
    """
    cls = type(value)
    if cls is str or cls is float or cls is int:
        try:
            x = float(value)  # type: ignore[arg-type]
        except (ValueError, OverflowError):
            return None
        return x if -MAX_ABS_RATE < x < MAX_ABS_RATE else None
    return None


def interval_hours(value: object, per_hour: float = 1.0) -> float | None:
    """A funding interval in hours from a JSON number or numeric string given in units of
    ``1 / per_hour`` hours (``per_hour=60`` for minutes); ``None`` unless in (0, 24]."""
    cls = type(value)
    if cls is str or cls is float or cls is int:
        try:
            x = float(value) / per_hour  # type: ignore[arg-type]
        except (ValueError, OverflowError):
            return None
        return x if 0.0 < x <= MAX_INTERVAL_H else None
    return None


def json_object(body: str, parsed: Parsed[Any]) -> dict[str, Any] | None:
    """The JSON object in ``body``, or ``None`` after recording why on ``parsed``."""
    try:
        msg = loads(body)
    except (ValueError, RecursionError):
        parsed.fail("body is not JSON")
        return None
    if not isinstance(msg, dict):
        parsed.fail(f"body is not an object: {brief(msg)}")
        return None
    return msg


def collect_snapshots(
    parsed: Parsed[MarketSnapshot],
    items: Iterable[Any],
    what: str,
    row: Callable[[dict[str, Any]], MarketSnapshot | None],
) -> Parsed[MarketSnapshot]:
    """Feed every object in ``items`` to ``row`` and keep its snapshot by symbol; other
    items are rejects (``what`` names them in the reason)."""
    for item in items:
        if not isinstance(item, dict):
            parsed.reject(f"{what} is not an object: {brief(item)}")
            continue
        snapshot = row(item)
        if snapshot is not None:
            parsed.items[snapshot.symbol] = snapshot
    return parsed


def json_list(body: str, parsed: Parsed[Any], *path: str) -> list[Any] | None:
    """The list at ``path`` inside the JSON ``body`` (the body itself when no path), or
    ``None`` after recording why on ``parsed``."""
    try:
        msg = loads(body)
    except (ValueError, RecursionError):
        parsed.fail("body is not JSON")
        return None
    node = msg
    for key in path:
        if not isinstance(node, dict):
            parsed.fail(f"no {'.'.join(path)} in {brief(msg)}")
            return None
        node = node.get(key)
    if not isinstance(node, list):
        parsed.fail(f"{'.'.join(path) or 'body'} is not a list: {brief(node)}")
        return None
    return node

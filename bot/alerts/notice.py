"""Notices: an alert as data (what crossed, the figures, the coverage, the market facts).

Evaluation produces a notice; each channel renders it when it sends (``bot.text.notice``:
Telegram HTML, console plain text). The outbox stores a notice as JSON, so a restart
renders exactly what the evaluation saw: :func:`to_json` and :func:`from_json` round-trip
every field (floats through ``repr``, so ``-0.0``, NaN and infinities survive; tuples,
named tuples and mappings come back as the types the annotations name).
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from bot.alerts.rules import Fire
from bot.domain import CoinMarket, RuleSpec
from bot.market.context import MarketContext
from bot.totals.result import Totals

LIQUIDATION: Final = "liquidation"
FUNDING: Final = "funding"


@dataclass(frozen=True, slots=True)
class LiquidationNotice:
    """A liquidation rule fired: the rule, its fire, the window's totals (coverage in
    ``totals.coverage``), the 24 h totals of the same scope, and the market around it."""

    spec: RuleSpec
    fire: Fire
    totals: Totals
    day: Totals | None = None
    context: MarketContext | None = None
    kind: Literal["liquidation"] = LIQUIDATION


@dataclass(frozen=True, slots=True)
class FundingNotice:
    """A chat's funding threshold was reached: the coin's market at the poll, and the fire."""

    market: CoinMarket
    fire: Fire
    kind: Literal["funding"] = FUNDING


Notice = LiquidationNotice | FundingNotice
_KINDS: Final[Mapping[str, type[LiquidationNotice] | type[FundingNotice]]] = {
    LIQUIDATION: LiquidationNotice,
    FUNDING: FundingNotice,
}


class NoticeError(ValueError):
    """A stored notice that cannot be read back (unknown kind, missing or odd field)."""


def to_json(notice: Notice) -> str:
    """The notice as one JSON object (``kind`` names its type)."""
    # ASCII escapes keep a lone surrogate in an odd symbol storable (SQLite wants UTF-8).
    return json.dumps(_plain(notice), separators=(",", ":"))


def from_json(text: str) -> Notice:
    """The notice :func:`to_json` wrote; raises :class:`NoticeError` for anything else."""
    try:
        data = json.loads(text)
        cls = _KINDS[data["kind"]]
        return typing.cast(Notice, _build(cls, data))
    except NoticeError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise NoticeError(f"unreadable notice ({type(exc).__name__}: {exc})") from exc


def _plain(value: Any) -> Any:
    """Dataclasses as objects, named tuples and tuples as arrays, mappings as objects."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def _build(hint: Any, data: Any) -> Any:
    """``data`` (parsed JSON) as the type ``hint`` names."""
    origin = typing.get_origin(hint)
    if origin is typing.Union or origin is types.UnionType:
        options = typing.get_args(hint)
        if data is None and type(None) in options:
            return None
        (only,) = [o for o in options if o is not type(None)]  # our unions: X | None
        return _build(only, data)
    if origin is Literal:
        if data not in typing.get_args(hint):
            raise NoticeError(f"{data!r} is not one of {typing.get_args(hint)}")
        return data
    if origin in (Mapping, dict):
        _, value_hint = typing.get_args(hint)
        return {str(k): _build(value_hint, v) for k, v in _object(data).items()}
    if origin is tuple:
        args = typing.get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_build(args[0], v) for v in _array(data))
        items = _array(data)
        if len(items) != len(args):
            raise NoticeError(f"expected {len(args)} items, got {len(items)}")
        return tuple(_build(a, v) for a, v in zip(args, items, strict=True))
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        fields = typing.get_type_hints(hint)
        obj = _object(data)
        known = {f.name for f in dataclasses.fields(hint)}
        return hint(**{k: _build(fields[k], v) for k, v in obj.items() if k in known})
    if isinstance(hint, type) and issubclass(hint, tuple) and hasattr(hint, "_fields"):
        fields = typing.get_type_hints(hint)
        items = _array(data)
        return hint(*(_build(fields[n], v) for n, v in zip(hint._fields, items, strict=True)))
    return _scalar(hint, data)


def _scalar(hint: Any, data: Any) -> Any:
    if hint is float and isinstance(data, int | float) and not isinstance(data, bool):
        return float(data)
    if hint is bool and isinstance(data, bool):
        return data
    if hint is int and isinstance(data, int) and not isinstance(data, bool):
        return data
    if hint is str and isinstance(data, str):
        return data
    raise NoticeError(f"{data!r} is not a {getattr(hint, '__name__', hint)}")


def _object(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise NoticeError(f"expected an object, got {type(data).__name__}")
    return data


def _array(data: Any) -> list[Any]:
    if not isinstance(data, list):
        raise NoticeError(f"expected an array, got {type(data).__name__}")
    return data

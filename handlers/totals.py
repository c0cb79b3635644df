"""/liq and /top: answers from the warm in-memory totals index."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from telegram.ext import BaseHandler

from bot.domain import WINDOWS
from bot.text.totals import format_liq, format_top
from bot.units import ArgError, normalize_coin, parse_window
from handlers.catalog import LIQ, TOP
from handlers.command import Request, UsageError, command_handler
from handlers.deps import HandlerDeps

QUERY_WINDOWS: Final = tuple(WINDOWS)  # 5m .. 24h and 7d
DEFAULT_WINDOW: Final = "24h"
CONTEXT_WINDOWS: Final = ("1h", "4h", "24h")
# How far back a coin must have had a liquidation to count as known.
KNOWN_COIN_WINDOW: Final = "7d"
TOP_LIMIT: Final = 20
# Text shaped like a duration ("3h", "90m", "2w") is a window attempt, not a coin.
_SPAN_LIKE: Final = re.compile(r"[0-9]+[a-z]{1,2}", re.IGNORECASE | re.ASCII)


@dataclass(frozen=True, slots=True)
class LiqArgs:
    """What /liq asked for."""

    coin: str | None
    window: str
    window_ms: int


def _window_or_coin(arg: str) -> tuple[str, str]:
    """``("window", "4h")`` or ``("coin", "BTC")``; ``ArgError`` if it is neither."""
    try:
        name, _ = parse_window(arg, QUERY_WINDOWS)
        return "window", name
    except ArgError:
        if _SPAN_LIKE.fullmatch(arg.strip()):
            raise
    return "coin", normalize_coin(arg)


def parse_liq_args(args: Sequence[str]) -> LiqArgs:
    """``[COIN] [WINDOW]`` in either order."""
    if len(args) > 2:
        raise UsageError(f"too many arguments ({len(args)}); /liq takes a coin and a window")
    coin: str | None = None
    window: str | None = None
    for arg in args:
        kind, value = _window_or_coin(arg)
        if kind == "window":
            if window is not None:
                raise UsageError(f"two windows given ({window} and {value}); give one")
            window = value
        else:
            if coin is not None:
                raise UsageError(f"two coins given ({coin} and {value}); give one")
            coin = value
    window = window or DEFAULT_WINDOW
    return LiqArgs(coin, window, WINDOWS[window])


def parse_top_args(args: Sequence[str]) -> tuple[str, int]:
    """``[WINDOW]`` -> (name, ms)."""
    if len(args) > 1:
        raise UsageError(f"too many arguments ({len(args)}); /top takes one window")
    if not args:
        return DEFAULT_WINDOW, WINDOWS[DEFAULT_WINDOW]
    return parse_window(args[0], QUERY_WINDOWS)


def require_known_coin(deps: HandlerDeps, coin: str, now_ms: int) -> None:
    """``UsageError`` for a coin no venue lists and nobody liquidated lately (a typo)."""
    if not deps.totals.coin_known(coin, now_ms):
        raise UsageError(
            f"unknown coin {coin}: no venue lists it and no liquidations of it were seen"
            f" in the last {KNOWN_COIN_WINDOW}"
        )


async def liq(req: Request) -> str:
    """Totals of one window (default 24h) with the 1h/4h/24h totals beside it."""
    args = parse_liq_args(req.args)
    service, now = req.deps.totals, req.now_ms
    if args.coin is not None:
        require_known_coin(req.deps, args.coin, now)
    report = await service.query(args.window_ms, args.coin, now, with_market=True)
    beside = [
        service.totals(WINDOWS[w], args.coin, now) for w in CONTEXT_WINDOWS if w != args.window
    ]
    return format_liq(report.totals, beside, now, args.coin, context=report.market)


async def top(req: Request) -> str:
    """Coins ranked by USD liquidated in the window (default 24h)."""
    _, window_ms = parse_top_args(req.args)
    report = await req.deps.totals.query(window_ms, end_ms=req.now_ms)
    return format_top(report.totals, TOP_LIMIT)


def handlers(deps: HandlerDeps) -> list[BaseHandler[Any, Any, Any]]:
    """The /liq and /top handlers."""
    return [command_handler(LIQ, deps, liq), command_handler(TOP, deps, top)]

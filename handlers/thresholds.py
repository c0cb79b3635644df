"""/threshold, /watch and /unwatch: the chat's market-wide thresholds and per-coin watches."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from telegram.ext import BaseHandler

from bot.chats import ChatSettings, NotSubscribed
from bot.text.telegram import escape
from bot.text.totals import clock, format_rules
from bot.units import ArgError, format_usd, normalize_coin, parse_amount, parse_window
from handlers.catalog import THRESHOLD, UNWATCH, WATCH
from handlers.command import Request, UsageError, command_handler
from handlers.deps import HandlerDeps
from handlers.totals import require_known_coin

DEFAULT_WATCH_WINDOW: Final = "1h"
OFF_WORDS: Final = frozenset({"off", "none", "remove", "delete"})


@dataclass(frozen=True, slots=True)
class ThresholdArgs:
    """``/threshold WINDOW AMOUNT``; ``threshold`` None means ``off``."""

    window: str
    threshold: float | None


@dataclass(frozen=True, slots=True)
class WatchArgs:
    """``/watch COIN AMOUNT [WINDOW]``."""

    coin: str
    threshold: float
    window: str


def _is_window(text: str) -> bool:
    try:
        parse_window(text)
    except ArgError:
        return False
    return True


def _is_amount(text: str) -> bool:
    try:
        parse_amount(text)
    except ArgError:
        return False
    return True


def parse_threshold_args(args: Sequence[str]) -> ThresholdArgs | None:
    """None (show) or a window with an amount or ``off``; ``AMOUNT WINDOW`` is accepted."""
    if not args:
        return None
    if len(args) > 2:
        raise UsageError(f"too many arguments ({len(args)}); give a window and an amount")
    if len(args) == 1:
        window, _ = parse_window(args[0])
        raise UsageError(f"missing the amount (or off) after {window}")
    first, second = args
    if not _is_window(first) and _is_amount(first) and _is_window(second):
        first, second = second, first  # "/threshold 250M 1h" is clear enough
    window, _ = parse_window(first)
    if second.strip().lower() in OFF_WORDS:
        return ThresholdArgs(window, None)
    return ThresholdArgs(window, parse_amount(second))


def parse_watch_args(args: Sequence[str]) -> WatchArgs | None:
    """None (list) or coin, amount and window (default 1h); ``COIN WINDOW AMOUNT`` too."""
    if not args:
        return None
    if len(args) > 3:
        raise UsageError(f"too many arguments ({len(args)}); give a coin, an amount and a window")
    coin = normalize_coin(args[0])
    if len(args) == 1:
        raise UsageError(f"missing the amount after {coin}")
    rest = list(args[1:])
    # "15m" is both a window and $15M: the window came first only if what follows is an
    # amount and no window.
    first, second = rest[0], rest[-1]
    if len(rest) == 2 and _is_window(first) and _is_amount(second) and not _is_window(second):
        rest.reverse()
    threshold = parse_amount(rest[0])
    window = parse_window(rest[1])[0] if len(rest) == 2 else DEFAULT_WATCH_WINDOW
    return WatchArgs(coin, threshold, window)


def parse_unwatch_args(args: Sequence[str]) -> str:
    """Exactly one coin."""
    if not args:
        raise UsageError("missing the coin")
    if len(args) > 1:
        raise UsageError(f"too many arguments ({len(args)}); give one coin")
    return normalize_coin(args[0])


async def _state_note(req: Request) -> str:
    """A second line when the change will not alert right away (stopped or muted chat)."""
    settings = await req.deps.chats.settings(req.chat_id)
    if settings is None:
        return ""
    chat = settings.chat
    if not chat.subscribed:
        return "\nAlerts are off in this chat: /start turns them on."
    if chat.muted(req.now_ms) and chat.muted_until_ms is not None:
        until = escape(clock(chat.muted_until_ms, req.now_ms))
        return f"\nThis chat is muted until {until} (/unmute)."
    return ""


async def _settings_or_fail(req: Request) -> ChatSettings:
    settings = await req.deps.chats.settings(req.chat_id)
    if settings is None:
        raise NotSubscribed()
    return settings


async def threshold(req: Request) -> str:
    """Show, set or turn off a market-wide threshold."""
    args = parse_threshold_args(req.args)
    if args is None:
        settings = await _settings_or_fail(req)
        market = [r.spec for r in settings.market]
        if not market:
            return "No market-wide thresholds are set. Set one: /threshold 1h 250M"
        return (
            f"<b>Market-wide thresholds</b>\n{format_rules(market)}\n"
            "Change one: /threshold 1h 250M · turn one off: /threshold 1h off"
        )
    await req.require_admin()
    window = escape(args.window)
    if args.threshold is None:
        if await req.deps.chats.remove_threshold(req.chat_id, args.window):
            return f"✅ The {window} market-wide threshold is off."
        return f"There was no {window} market-wide threshold to turn off."
    previous = await req.deps.chats.set_threshold(req.chat_id, args.window, args.threshold)
    was = f" (was {escape(format_usd(previous.threshold))})" if previous is not None else ""
    text = (
        f"✅ Alert when market-wide liquidations reach {escape(format_usd(args.threshold))}"
        f" in {window}{was}."
    )
    return text + await _state_note(req)


async def watch(req: Request) -> str:
    """List watches, or watch a coin (replacing the chat's previous watch of it)."""
    args = parse_watch_args(req.args)
    chats = req.deps.chats
    if args is None:
        settings = await _settings_or_fail(req)
        watches = [r.spec for r in settings.watches]
        if not watches:
            return "No coins are watched. Add one: /watch BTC 50M 1h"
        return (
            f"<b>Watches</b> ({len(watches)} of {chats.max_watches})\n{format_rules(watches)}\n"
            "Remove one: /unwatch BTC"
        )
    await req.require_admin()
    require_known_coin(req.deps, args.coin, req.now_ms)
    result = await chats.set_watch(req.chat_id, args.coin, args.threshold, args.window)
    coin = escape(args.coin)
    amount = escape(format_usd(args.threshold))
    text = (
        f"👁 Watching {coin}: alert when its liquidations reach {amount}"
        f" in {escape(args.window)}."
    )
    old = result.previous
    if old is not None and (old.window, old.threshold) != (args.window, args.threshold):
        text += f" Replaces {escape(old.window)} ≥ {escape(format_usd(old.threshold))}."
    return text + await _state_note(req)


async def unwatch(req: Request) -> str:
    """Stop watching one coin."""
    coin = parse_unwatch_args(req.args)
    await req.require_admin()
    if not await req.deps.chats.remove_watch(req.chat_id, coin):
        raise UsageError(f"{coin} is not watched in this chat (/watch lists the watches)")
    return f"✅ Stopped watching {escape(coin)}."


def handlers(deps: HandlerDeps) -> list[BaseHandler[Any, Any, Any]]:
    """The /threshold, /watch and /unwatch handlers."""
    return [
        command_handler(THRESHOLD, deps, threshold),
        command_handler(WATCH, deps, watch),
        command_handler(UNWATCH, deps, unwatch),
    ]

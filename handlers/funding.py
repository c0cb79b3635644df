"""/funding, /oi and /fundingalert: funding rates, open interest, and the chat's funding
alert. Reading is open to everyone; in groups only administrators change the alert."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Final

from telegram.ext import BaseHandler

from bot.alerts.funding import TOP_COINS
from bot.chats import MAX_FUNDING_THRESHOLD, MIN_FUNDING_THRESHOLD
from bot.domain import HOUR_MS, CoinMarket
from bot.market.records import oi_change
from bot.market.state import MarketState
from bot.text.market import (
    format_funding_coin,
    format_funding_market,
    format_oi_coin,
    format_oi_market,
    threshold_text,
)
from bot.text.telegram import escape
from bot.text.totals import ago, clock
from bot.units import ArgError, normalize_coin
from handlers.catalog import FUNDING, FUNDINGALERT, OI
from handlers.command import Request, UsageError, command_handler
from handlers.deps import HandlerDeps

# Coins with less open interest are dust listings: left out of the market-wide lists.
MIN_OI_USD: Final = 5_000_000.0
OI_WINDOWS: Final = (("1h", HOUR_MS), ("24h", 24 * HOUR_MS))
OFF_WORDS: Final = frozenset({"off", "none", "remove", "delete", "stop"})
NO_MARKET: Final = (
    "Funding and open-interest figures are not available: market polling is off here."
)
_RATE_RE: Final = re.compile(
    r"(?P<sign>[-+−])?(?P<num>[0-9]{1,6}(?:\.[0-9]*)?|\.[0-9]+)(?P<pct>%)?(?:/8h)?",
    re.IGNORECASE | re.ASCII,
)


def _show(text: str, limit: int = 24) -> str:
    flat = "".join(ch if ch.isprintable() else "?" for ch in " ".join(text.split()))
    return f'"{flat[:limit]}…"' if len(flat) > limit else f'"{flat}"'


def parse_rate(text: str) -> float:
    """A funding alert magnitude as a fraction of the 8 h-equivalent rate: ``0.1%`` and
    ``0.001`` are 0.001; a sign is accepted and dropped (the alert fires either way)."""
    raw = text.strip().replace("−", "-")
    match = _RATE_RE.fullmatch(raw)
    if match is None:
        raise ArgError(f"{_show(raw)} is not a rate; write e.g. 0.1% (8h equivalent)")
    value = float(match["num"]) / (100 if match["pct"] else 1)
    if value == 0:
        raise ArgError(f"the rate must be more than zero, got {_show(raw)}")
    if value < MIN_FUNDING_THRESHOLD:
        raise ArgError(f"rate {_show(raw)} is too small; the minimum is 0.001%")
    if value > MAX_FUNDING_THRESHOLD:
        hint = "" if match["pct"] else " (a bare number is a fraction: 0.001 = 0.1%)"
        raise ArgError(f"rate {_show(raw)} is too large; the maximum is 5% per 8h{hint}")
    return value


def parse_fundingalert_args(args: Sequence[str]) -> float | str | None:
    """None (show), ``"off"``, or the threshold (a positive fraction)."""
    if not args:
        return None
    if len(args) > 1:
        raise UsageError(f"too many arguments ({len(args)}); give one rate like 0.1% or off")
    if args[0].strip().lower() in OFF_WORDS:
        return "off"
    return parse_rate(args[0])


def parse_coin_arg(args: Sequence[str]) -> str | None:
    """``[COIN]``."""
    if len(args) > 1:
        raise UsageError(f"too many arguments ({len(args)}); give one coin or none")
    return normalize_coin(args[0]) if args else None


def _market(req: Request) -> MarketState | None:
    return req.deps.market


def _coin_or_explain(market: MarketState, coin: str, now: int) -> CoinMarket | str:
    """The coin's fresh figures, or why there are none (stale, or unknown: a usage error)."""
    cm = market.coin(coin, now)
    if cm is not None:
        return cm
    if not market.known(coin):
        if market.age_ms(now_ms=now) is None:
            return _stale_market(market, now)
        raise UsageError(f"no exchange lists {coin} (unknown coin?)")
    age = market.age_ms(coin, now_ms=now)
    when = "" if age is None else f": last polled {escape(ago(now - age, now))}"
    return f"The {escape(coin)} figures are stale{when}; the exchanges' polls may be failing."


def _stale_market(market: MarketState, now: int) -> str:
    age = market.age_ms(now_ms=now)
    if age is None:
        return "No funding figures yet: the first market poll has not finished."
    last = escape(ago(now - age, now))
    return f"No fresh funding figures: last poll {last}; the polls may be failing."


async def funding(req: Request) -> str:
    """/funding COIN: each venue's rate; /funding: the extremes across the market."""
    coin = parse_coin_arg(req.args)
    market, now = _market(req), req.now_ms
    if market is None:
        return NO_MARKET
    if coin is None:
        coins = market.coins(now)
        if not coins:
            return _stale_market(market, now)
        return format_funding_market(coins, now, MIN_OI_USD, stale_ms=market.stale_after_ms)
    found = _coin_or_explain(market, coin, now)
    if isinstance(found, str):
        return found
    return format_funding_coin(found, now, market.stale_after_ms)


def _symbol_change(cm: CoinMarket, before: CoinMarket | None) -> dict[tuple[str, str], float]:
    if before is None:
        return {}
    old = {(s.venue, s.symbol): s.oi_usd for s in before.venues}
    out = {}
    for s in cm.venues:
        then = old.get((s.venue, s.symbol))
        if s.oi_usd is not None and then:
            out[(s.venue, s.symbol)] = s.oi_usd / then - 1.0
    return out


async def oi(req: Request) -> str:
    """/oi COIN: open interest per venue with 1h/24h changes; /oi: the biggest moves."""
    coin = parse_coin_arg(req.args)
    market, now = _market(req), req.now_ms
    if market is None:
        return NO_MARKET
    if coin is None:
        changes = await market.changes(HOUR_MS, now)
        moves = [
            (c.coin, c.now.oi_usd, c.oi_change)
            for c in changes
            if c.oi_change is not None and c.now.oi_usd is not None
        ]
        if not moves and not market.coins(now):
            return _stale_market(market, now)
        return format_oi_market(moves, "1h", MIN_OI_USD)
    found = _coin_or_explain(market, coin, now)
    if isinstance(found, str):
        return found
    totals: list[tuple[str, float | None]] = []
    per_symbol: dict[tuple[str, str], list[float | None]] = {
        (s.venue, s.symbol): [] for s in found.venues
    }
    for label, span in OI_WINDOWS:
        before = await market.coin_at(coin, now - span)
        totals.append((label, oi_change(before, found) if before is not None else None))
        changed = _symbol_change(found, before)
        for key, values in per_symbol.items():
            values.append(changed.get(key))
    return format_oi_coin(found, totals, dict(per_symbol), now, market.stale_after_ms)


async def _note(req: Request) -> str:
    """Why the alert may not arrive right away (stopped, muted, or no market polling)."""
    notes = []
    settings = await req.deps.chats.settings(req.chat_id)
    if settings is not None and not settings.chat.subscribed:
        notes.append("Alerts are off in this chat: /start turns them on.")
    elif settings is not None and settings.chat.muted(req.now_ms):
        until = settings.chat.muted_until_ms
        assert until is not None
        notes.append(f"This chat is muted until {escape(clock(until, req.now_ms))} (/unmute).")
    if req.deps.market is None:
        notes.append("Market polling is off here, so no funding alert can fire yet.")
    return "".join(f"\n{n}" for n in notes)


def _scope() -> str:
    return f"the top {TOP_COINS} coins by open interest and this chat's watched coins"


async def fundingalert(req: Request) -> str:
    """Show, set or turn off this chat's funding alert."""
    args = parse_fundingalert_args(req.args)
    chats = req.deps.chats
    if args is None:
        current = await chats.funding_threshold(req.chat_id)
        if current is None:
            return "No funding alert is set. Set one: /fundingalert 0.1%"
        return (
            f"<b>💸 Funding alert</b>\nWhen the OI-weighted funding (8h equivalent) of"
            f" {_scope()} reaches {escape(threshold_text(current))}"
            f" (APR ±{current * 3 * 365 * 100:.2f}%), either sign.\n"
            "Change it: /fundingalert 0.05% · turn it off: /fundingalert off" + await _note(req)
        )
    await req.require_admin()
    if args == "off":
        if await chats.clear_funding_threshold(req.chat_id) is None:
            return "There was no funding alert to turn off."
        return "✅ The funding alert is off."
    assert isinstance(args, float)
    previous = await chats.set_funding_threshold(req.chat_id, args, req.now_ms)
    was = f" (was {escape(threshold_text(previous))})" if previous not in (None, args) else ""
    rate = escape(threshold_text(args))
    return (
        f"✅ Alert when the OI-weighted funding of {_scope()} reaches {rate}"
        f" (either sign){was}." + await _note(req)
    )


def handlers(deps: HandlerDeps) -> list[BaseHandler[Any, Any, Any]]:
    """The /funding, /oi and /fundingalert handlers."""
    return [
        command_handler(FUNDING, deps, funding),
        command_handler(OI, deps, oi),
        command_handler(FUNDINGALERT, deps, fundingalert),
    ]

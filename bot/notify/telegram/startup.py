"""Bringing the bot up while the data core already runs: wait for Telegram, never die.

``getMe`` (PTB's ``Bot.initialize``) and the command menu are retried with capped, jittered
backoff for as long as Telegram is unreachable or failing (DNS, refused connections, 5xx,
HTML error pages, timeouts, 429), one log line per attempt and no traceback. Only a refused
token (401, or 404 for a malformed one: PTB raises ``InvalidToken``) stops start-up: no
retry can fix it. The token is never logged: PTB puts it in ``InvalidToken``'s message.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from telegram import Bot
from telegram.error import InvalidToken, RetryAfter, TelegramError

from bot.ingest.backoff import Backoff, BackoffPolicy
from bot.notify.telegram.policy import retry_after_seconds
from bot.notify.telegram.request import describe

log = logging.getLogger(__name__)

T = TypeVar("T")

# A few seconds at first, a minute at most between attempts once Telegram stays away.
STARTUP_BACKOFF = BackoffPolicy(base_s=1.0, cap_s=60.0)


class TokenRefused(Exception):
    """Telegram refused the bot token; ``reason`` is its description (never the token)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


async def until_stopped(work: Awaitable[T], stop: asyncio.Event) -> tuple[bool, T | None]:
    """Run ``work`` unless ``stop`` is set first (then it is cancelled): ``(done, result)``."""
    task = asyncio.ensure_future(work)
    stopper = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()
    if not task.done():
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return False, None
    return True, task.result()


async def connect(
    bot: Bot,
    stop: asyncio.Event,
    attempt: Callable[[], Awaitable[None]],
    *,
    policy: BackoffPolicy = STARTUP_BACKOFF,
    rng: random.Random | None = None,
) -> bool:
    """Call ``attempt`` (getMe and whatever must precede polling) until it succeeds: True;
    False when ``stop`` was set first. Raises :class:`TokenRefused`."""
    backoff = Backoff(policy, rng or random.Random())
    tries = 0
    while not stop.is_set():
        tries += 1
        try:
            done, _ = await until_stopped(attempt(), stop)
            if not done:
                return False
            if tries > 1:
                log.info("Telegram answered after %d attempt(s); starting the bot", tries)
            return True
        except InvalidToken as exc:
            # PTB wraps Telegram's answer ("Unauthorized") in a message quoting the token.
            cause = exc.__cause__ if isinstance(exc.__cause__, TelegramError) else exc
            raise TokenRefused(str(cause.message).replace(bot.token, "<token>")) from None
        except RetryAfter as exc:
            delay = max(retry_after_seconds(exc), backoff.next_delay())
            reason = describe(exc, bot.token)
        except TelegramError as exc:  # NetworkError, TimedOut, 5xx, invalid answers
            delay = backoff.next_delay()
            reason = describe(exc, bot.token)
        log.warning(
            "Telegram not reachable (attempt %d: %s); collecting meanwhile, next try in %.1f s",
            tries,
            reason,
            delay,
        )
        try:
            async with asyncio.timeout(delay):
                await stop.wait()
        except TimeoutError:
            pass
    return False

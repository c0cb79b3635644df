"""``liqwatch run``: wires the data core to the scheduler and, with a token, to Telegram.

The python-telegram-bot ``Application`` exists in both modes because its JobQueue (APScheduler)
is the only scheduler. Without ``TELEGRAM_BOT_TOKEN`` it is built with a placeholder token
and never talks to Telegram: only its JobQueue is started, and summaries go to stdout.

With a token, collecting does not wait for Telegram: the JobQueue (flush, polls, alert
ticks into the outbox) and the feeds start first, then ``bot.notify.telegram.startup`` retries
Telegram until it answers, and only then do the sender and polling start.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from collections.abc import Mapping
from typing import Any

import aiohttp
from telegram.ext import Application, ApplicationBuilder, ContextTypes

from bot.alerts.console import ConsoleAlerts
from bot.alerts.rules import RuleSpec
from bot.clock import now_ms
from bot.config import Settings
from bot.core import Core, FeedHooks
from bot.domain import WINDOWS
from bot.ingest.backoff import BackoffPolicy
from bot.market.context import MarketContext
from bot.notify.console import ConsoleChannel
from bot.notify.telegram.console_request import CONSOLE_TOKEN, ConsoleRequest
from bot.notify.telegram.request import bot_api_requests
from bot.notify.telegram.startup import STARTUP_BACKOFF, TokenRefused, connect, until_stopped
from bot.text.console import summary_line
from bot.totals.result import Totals

log = logging.getLogger(__name__)

FLUSH_INTERVAL_S = 0.2  # commits at least every second; short for alert latency
SUMMARY_INTERVAL_S = 60.0
PRUNE_INTERVAL_S = 3600.0
EXIT_TOKEN_REFUSED = 2  # like a configuration error: fix the setting, then start again

Context = ContextTypes.DEFAULT_TYPE


def _job_kwargs(interval_s: float) -> dict[str, Any]:
    # A slow run must not pile up, and missed runs are not replayed after a stall.
    return {"max_instances": 1, "coalesce": True, "misfire_grace_time": max(1, int(interval_s))}


def job_failed(name: str, exc: Exception) -> None:
    """A job's error, logged here in one line: while the bot waits for Telegram the
    Application is not running, and PTB's own error path would then warn instead."""
    log.warning("%s job failed (%s: %s); retried next run", name, type(exc).__name__, exc)


async def _flush_job(context: Context) -> None:
    core: Core = context.job.data  # type: ignore[union-attr,assignment]
    try:
        await core.flush()
    except Exception as exc:
        job_failed("flush", exc)


async def _summary_job(context: Context) -> None:
    core: Core = context.job.data  # type: ignore[union-attr,assignment]
    live = {name: h.live for name, h in core.health.items()}
    service = core.totals_service
    line = summary_line(service.totals(WINDOWS["1h"]), service.totals(WINDOWS["24h"]), live)
    print(line, flush=True)


async def _market_job(context: Context) -> None:
    core: Core = context.job.data  # type: ignore[union-attr,assignment]
    try:
        await core.poll_market()
    except Exception as exc:
        job_failed("market", exc)


async def _console_alerts_job(context: Context) -> None:
    alerts: ConsoleAlerts = context.job.data  # type: ignore[union-attr,assignment]
    await alerts.tick(now_ms())


async def _prune_job(context: Context) -> None:
    core: Core = context.job.data  # type: ignore[union-attr,assignment]
    try:
        await core.prune()
    except Exception as exc:  # retried next hour; never kills the scheduler
        log.warning("prune failed (%s: %s)", type(exc).__name__, exc)


def build_application(settings: Settings) -> Application[Any, Any, Any, Any, Any, Any]:
    """The PTB application: real bot with a token, JobQueue-only shell without one.

    No PTB rate limiter: the ``Sender`` paces every alert under Telegram's limits and
    handles 429 itself, and ``AIORateLimiter(max_retries=0)`` only added a traceback per
    429. Handler replies answer one user's own command, so they cannot burst on their own;
    a 429 there is logged in one line by the error handler.
    """
    builder = ApplicationBuilder()
    if settings.telegram_token is None:
        request = ConsoleRequest()
        builder = builder.token(CONSOLE_TOKEN).updater(None)
        app = builder.request(request).get_updates_request(request).build()
    else:
        calls, updates = bot_api_requests()
        builder = builder.token(settings.telegram_token).base_url(settings.telegram_api_url)
        app = builder.request(calls).get_updates_request(updates).build()
    app.add_error_handler(_log_error)
    return app


async def _log_error(update: object, context: Context) -> None:
    """Errors of jobs and handlers: one line, never the Bot object (its repr has the token)."""
    error = context.error
    log.warning("%s: %s", type(error).__name__, error)


def schedule_core_jobs(
    app: Application[Any, Any, Any, Any, Any, Any], core: Core, *, console: bool
) -> None:
    """Register the data core's periodic jobs on the JobQueue (``console``: plus the
    one-minute summary on standard output)."""
    poll_s = core.config.market.funding_poll_s
    jq = app.job_queue
    assert jq is not None, "python-telegram-bot[job-queue] is a dependency"
    jq.run_repeating(
        _flush_job, FLUSH_INTERVAL_S, data=core, name="flush", job_kwargs=_job_kwargs(1)
    )
    jq.run_repeating(
        _market_job,
        poll_s,
        first=1,
        data=core,
        name="market",
        job_kwargs=_job_kwargs(poll_s),
    )
    jq.run_repeating(
        _prune_job,
        PRUNE_INTERVAL_S,
        first=60,
        data=core,
        name="prune",
        job_kwargs=_job_kwargs(PRUNE_INTERVAL_S),
    )
    if console:
        jq.run_repeating(
            _summary_job,
            SUMMARY_INTERVAL_S,
            first=SUMMARY_INTERVAL_S,
            data=core,
            name="summary",
            job_kwargs=_job_kwargs(SUMMARY_INTERVAL_S),
        )


def start_console_alerts(
    app: Application[Any, Any, Any, Any, Any, Any],
    core: Core,
    default_rules: Mapping[str, float],
) -> FeedHooks:
    """Console mode: ``default_rules``, evaluated after each flush (the returned hooks)
    and every second, with alerts printed to standard output."""
    service = core.totals_service

    async def context(spec: RuleSpec, totals: Totals, now: int) -> MarketContext | None:
        # The market context of the Telegram alerts, so both state the same facts.
        report = await service.complete(
            totals, spec.coin, now, with_coverage=False, with_market=True
        )
        return report.market

    alerts = ConsoleAlerts(
        default_rules,
        service.totals,
        ConsoleChannel(lambda text: print(text, "", sep="\n", flush=True)).deliver,
        context,
    )
    alerts.prime(now_ms())
    jq = app.job_queue
    assert jq is not None
    jq.run_repeating(
        _console_alerts_job, 1.0, data=alerts, name="alerts", job_kwargs=_job_kwargs(1)
    )
    return FeedHooks(on_commit=(alerts.poke,))


async def run_forever(
    settings: Settings,
    stop: asyncio.Event | None = None,
    *,
    telegram_backoff: BackoffPolicy = STARTUP_BACKOFF,
) -> int:
    """Run until SIGINT/SIGTERM (or ``stop`` is set), then flush and close cleanly.

    Returns the exit status: 0, or ``EXIT_TOKEN_REFUSED`` when Telegram refused the token.
    """
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    core = await Core.open(settings.core_config())
    app = build_application(settings)
    console = settings.telegram_token is None
    schedule_core_jobs(app, core, console=console)
    # The composition root: every consumer of the feeds is handed over here, once.
    telegram = None
    if settings.telegram_token is not None:
        from bot.telegram_app import build_telegram

        telegram = build_telegram(app, core, settings.default_rules)
        hooks = telegram.hooks()
    else:
        hooks = start_console_alerts(app, core, settings.default_rules)
    mode = "console mode (no TELEGRAM_BOT_TOKEN)" if settings.telegram_token is None else "bot"
    log.info("liqwatch starting: venues %s, %s", ", ".join(settings.exchanges), mode)
    status = 0
    jq = app.job_queue
    assert jq is not None
    try:
        async with aiohttp.ClientSession() as session:
            try:
                if telegram is None:
                    await app.initialize()  # console mode: answered locally
                else:
                    await telegram.prepare()
                # Collect (and raise alerts into the outbox) before Telegram is up. The
                # JobQueue may run before the Application: PTB's start() leaves it alone.
                await jq.start()
                core.start_feeds(session, hooks)
                up = True  # False: stopped while waiting for Telegram
                if telegram is not None:
                    up = await connect(
                        app.bot, stop, lambda: telegram.handshake(app), policy=telegram_backoff
                    )
                    if up:
                        await app.initialize()  # no network: getMe is cached
                        up, _ = await until_stopped(telegram.start(app), stop)
                if up:
                    await app.start()
                    # What start-up loaded (index, rules, chats) lives as long as the
                    # process: keep the collector from rescanning it (alert tick p99
                    # 18 -> 14 ms measured).
                    gc.freeze()
                    await stop.wait()
            except TokenRefused as exc:
                log.error(
                    "Telegram refused the bot token (%s): check TELEGRAM_BOT_TOKEN; stopping",
                    exc.reason,
                )
                status = EXIT_TOKEN_REFUSED
            finally:
                log.info("liqwatch stopping: flushing and closing")
                await _stop_app(app, telegram)
                await core.close()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)
    log.info("liqwatch stopped")
    return status


async def _stop_app(app: Application[Any, Any, Any, Any, Any, Any], telegram: Any) -> None:
    """Stop whatever got started, from any phase of start-up (waiting for Telegram too)."""
    if telegram is not None:
        await telegram.stop(app)
    if app.running:
        await app.stop()  # the JobQueue too
    elif app.job_queue is not None and app.job_queue.scheduler.running:
        await app.job_queue.stop()
    await app.shutdown()  # nothing when never initialized
    await app.bot.shutdown()  # the HTTP clients opened by the first getMe attempt

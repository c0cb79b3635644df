"""``liqwatch run`` with a token while Telegram is unreachable, failing, or refusing the token.

The real ``run_forever`` (and, for exit codes and signals, the real ``liqwatch run``
process) against fake venues and the fake Bot API on 127.0.0.1: collecting goes on while
Telegram is away, start-up retries with one log line per attempt and no traceback, and the
bot comes up (command menu, alerts raised meanwhile, /start) as soon as Telegram answers.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import signal
import socket
import sqlite3
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from bench.fakes.bot_api import FakeBotApi
from bench.fakes.venues import FakeBinance, FakeBybit, FakeOkx, force_order
from bot.app import EXIT_TOKEN_REFUSED, run_forever
from bot.chats import ChatService
from bot.cli import quiet_noisy_loggers
from bot.config import Settings
from bot.core import Core
from bot.ingest.backoff import BackoffPolicy
from tests.fakes.world import venue_env
from tests.test_app import settings_for, stored_events, venues, wait_for

__all__ = ["venues"]  # the fixture, shared with tests/test_app.py

TOKEN = "424242:START-up-token-never-logged"
SUBSCRIBER = 1001
QUICK = BackoffPolicy(base_s=0.05, cap_s=0.3)
ROOT = Path(__file__).resolve().parents[1]
Venues = tuple[FakeBinance, FakeBybit, FakeOkx]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bot_settings(tmp_path: Path, venues: Venues, api_url: str) -> Settings:
    base = settings_for(tmp_path / "bot.db", *venues)  # default rules: 1h >= $30K
    return replace(base, telegram_token=TOKEN, telegram_api_url=api_url)


async def subscribe(settings: Settings, chat_id: int) -> None:
    core = await Core.open(settings.core_config())
    try:
        await ChatService(core.dbt, settings.default_rules).subscribe(chat_id, "private")
    finally:
        await core.close()


def outbox_rows(db: Path) -> list[tuple[int, str]]:
    with sqlite3.connect(db) as conn:
        return [(int(c), str(s)) for c, s in conn.execute("SELECT chat_id, status FROM outbox")]


def attempt_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "Telegram not reachable" in r.getMessage()]


def assert_clean_log(caplog: pytest.LogCaptureFixture) -> None:
    """No traceback anywhere, the token nowhere, attempts numbered 1, 2, 3, ... once each."""
    for record in caplog.records:
        if record.name.startswith("aiohttp.access"):
            continue  # the fakes' own request log (its URLs hold the token)
        text = record.getMessage()
        assert record.exc_info is None and "Traceback" not in text, (record.name, text)
        assert TOKEN not in text and TOKEN.split(":")[1] not in text
    numbers = [int(re.search(r"attempt (\d+):", line)[1]) for line in attempt_lines(caplog)]  # type: ignore[index]
    assert numbers == list(range(1, len(numbers) + 1))


async def push_cascade(binance: FakeBinance) -> None:
    now = int(time.time() * 1000)
    await binance.push_force_orders([force_order("BTCUSDT", "SELL", "1", "60000", now - 2000)])


async def test_refused_port_then_telegram_appears_bot_comes_up(
    tmp_path: Path, venues: Venues, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    quiet_noisy_loggers()  # what `liqwatch run` configures
    binance = venues[0]
    port = free_port()
    settings = bot_settings(tmp_path, venues, f"http://127.0.0.1:{port}/bot")
    await subscribe(settings, SUBSCRIBER)
    stop = asyncio.Event()
    task = asyncio.create_task(run_forever(settings, stop, telegram_backoff=QUICK))
    try:
        # Nothing listens on the port: the bot keeps trying, and collecting goes on.
        await wait_for(lambda: len(attempt_lines(caplog)) >= 3)
        await wait_for(lambda: bool(binance.subscribed("!forceOrder@arr")))
        await push_cascade(binance)
        await wait_for(lambda: stored_events(settings.db_path) == 1)
        # The alert is raised meanwhile and kept in the outbox until Telegram is up.
        await wait_for(lambda: outbox_rows(settings.db_path) == [(SUBSCRIBER, "pending")])
        assert not task.done()

        async with FakeBotApi(token=TOKEN, port=port) as telegram:
            await telegram.wait_until(lambda: len(telegram.texts(SUBSCRIBER)) == 1, within=20)
            assert "liquidated in 1h" in (telegram.texts(SUBSCRIBER)[0] or "")
            registered = {c["command"] for cmds in telegram.commands.values() for c in cmds}
            assert {"start", "liq", "status"} <= registered
            telegram.push_command(2002, "/start")
            await telegram.wait_until(lambda: bool(telegram.texts(2002)), within=20)
            assert "/threshold" in (telegram.texts(2002)[0] or "")
            await asyncio.sleep(1.2)  # later ticks: the alert is not sent twice
            assert len(telegram.texts(SUBSCRIBER)) == 1
            stop.set()
            assert await asyncio.wait_for(task, 15) == 0
    finally:
        stop.set()
        await asyncio.gather(task, return_exceptions=True)
    rows = outbox_rows(settings.db_path)  # 2002 subscribed by /start: its alert too
    assert rows[0] == (SUBSCRIBER, "sent") and {status for _, status in rows} == {"sent"}
    assert_clean_log(caplog)
    assert any("Telegram answered after" in r.getMessage() for r in caplog.records)


async def test_server_errors_then_ok_one_line_per_failed_attempt(
    tmp_path: Path, venues: Venues, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    quiet_noisy_loggers()
    async with FakeBotApi(token=TOKEN) as telegram:
        # getMe answered after PTB's 5 s read timeout, then nginx pages, a reset, 5xx.
        telegram.faults.answer_late(6.0, method="getMe")
        telegram.faults.html_error_next(502, count=2, method="getMe")
        telegram.faults.reset_next(method="getMe")
        telegram.faults.fail_next(500, count=2, method="getMe")
        telegram.faults.fail_next(503, method="setMyCommands")
        settings = bot_settings(tmp_path, venues, telegram.base_url)
        stop = asyncio.Event()
        task = asyncio.create_task(run_forever(settings, stop, telegram_backoff=QUICK))
        try:
            telegram.push_command(2002, "/start")
            await telegram.wait_until(lambda: bool(telegram.texts(2002)), within=20)
            assert "/threshold" in (telegram.texts(2002)[0] or "")
            assert telegram.commands, "the command menu was registered"
            # Once up, a failing poll is PTB's to retry; each failure is one line of ours.
            telegram.faults.html_error_next(502, count=2, method="getUpdates")
            telegram.push_command(2003, "/start")  # ends the pending long poll
            await telegram.wait_until(lambda: len(poll_errors(telegram)) == 2, within=20)
            telegram.push_command(2004, "/start")
            await telegram.wait_until(lambda: bool(telegram.texts(2004)), within=20)
        finally:
            stop.set()
            status = await asyncio.wait_for(task, 15)
        failed = [c for c in telegram.calls if c.method in {"getMe", "setMyCommands"}]
        failed = [c for c in failed if c.status != 200]
    assert status == 0
    assert [c.status for c in failed] == [502, 502, 0, 500, 500, 503]
    attempts = attempt_lines(caplog)
    assert len(attempts) == len(failed) + 1 == 7  # the timed-out getMe is one more
    assert "TimedOut" in attempts[0]
    assert not any("invalid JSON" in r.getMessage() for r in caplog.records)
    polling = [
        r for r in caplog.records if "polling Telegram for updates failed" in r.getMessage()
    ]
    assert len(polling) == 2 and all("Bad Gateway (502)" in r.getMessage() for r in polling)
    assert_clean_log(caplog)


def poll_errors(telegram: FakeBotApi) -> list[int]:
    return [c.status for c in telegram.calls_to("getUpdates") if c.status != 200]


def liqwatch_env(tmp_path: Path, venues: Venues, api_url: str, token: str) -> dict[str, str]:
    binance, bybit, okx = venues
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LIQWATCH_", "TELEGRAM_"))}
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "LIQWATCH_DB": str(tmp_path / "run.db"),
            "LIQWATCH_LOG_LEVEL": "DEBUG",
            "TELEGRAM_BOT_TOKEN": token,
            "TELEGRAM_API_URL": api_url,
            **venue_env(binance, bybit, okx),
        }
    )
    return env


async def start_liqwatch(tmp_path: Path, env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "run",
        cwd=tmp_path,  # no .env of the developer's is read
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_refused_token_stops_with_one_line_and_no_token(
    tmp_path: Path, venues: Venues
) -> None:
    wrong = "777:WRONG-token-must-not-appear"
    async with FakeBotApi(token=TOKEN) as telegram:  # any other token gets 401 Unauthorized
        proc = await start_liqwatch(
            tmp_path, liqwatch_env(tmp_path, venues, telegram.base_url, wrong)
        )
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        assert [c.status for c in telegram.calls_to("getMe")] == [401]
    text = out.decode() + err.decode()
    assert proc.returncode == EXIT_TOKEN_REFUSED != 0
    refused = [line for line in text.splitlines() if "refused the bot token" in line]
    assert (
        len(refused) == 1 and "Unauthorized" in refused[0] and "TELEGRAM_BOT_TOKEN" in refused[0]
    )
    assert "Traceback" not in text
    assert wrong not in text and wrong.split(":")[1] not in text
    assert "Telegram not reachable" not in text  # a refused token is not retried


async def test_sigterm_while_waiting_for_telegram_stops_cleanly(
    tmp_path: Path, venues: Venues
) -> None:
    api_url = f"http://127.0.0.1:{free_port()}/bot"  # nothing listens there
    proc = await start_liqwatch(tmp_path, liqwatch_env(tmp_path, venues, api_url, TOKEN))
    assert proc.stderr is not None
    lines: list[str] = []
    try:
        async with asyncio.timeout(60):
            while not any("Telegram not reachable" in line for line in lines):
                raw = await proc.stderr.readline()
                assert raw, "liqwatch exited: " + "".join(lines)
                lines.append(raw.decode())
        proc.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(proc.communicate(), 30)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    text = "".join(lines) + out.decode() + err.decode()
    assert proc.returncode == 0, text
    assert "liqwatch stopped" in text and "Traceback" not in text
    assert TOKEN not in text and TOKEN.split(":")[1] not in text

"""The chats of the kill -9 soak: what they set up with commands, the rules that are owed
alerts, bystanders that keep changing a setting during the cascade, and reading the
settings back from the database."""

from __future__ import annotations

import asyncio
import random
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.fakes.bot_api import FakeBotApi
from bench.fakes.cascade import Rule

DEFAULT_RULES = "1h=10M,24h=25M"
GROUP, ADMIN, MEMBER = -3001, 501, 502
# chat -> the commands that set it up, in order. Rules owed alerts are listed in RULES.
SETUP: dict[int, tuple[str, ...]] = {
    2001: ("/start", "/threshold 1h 1M", "/threshold 24h off"),
    2002: ("/start", "/threshold 1h 2.5M", "/threshold 24h 6M"),
    2003: (
        "/start",
        "/threshold 1h off",
        "/threshold 24h off",
        "/watch BTC 1.5M",
        "/watch ETH 800K 4h",
    ),
    2004: ("/start",),
    2005: ("/start", "/threshold 4h 3M", "/mute 1d"),
    2006: ("/start", "/threshold 1h 1M", "/stop"),
    2007: ("/start", "/threshold 24h off", "/watch SOL 400K 1h", "/threshold 12h 20M"),
    GROUP: ("/start", "/threshold 24h off", "/threshold 1h 15M"),
}
RULES: tuple[Rule, ...] = (
    Rule(2001, "1h", 1e6),
    Rule(2002, "1h", 2.5e6),
    Rule(2002, "24h", 6e6),
    Rule(2003, "1h", 1.5e6, "BTC"),
    Rule(2003, "4h", 8e5, "ETH"),
    Rule(2004, "1h", 10e6),
    Rule(2004, "24h", 25e6),
    Rule(2007, "1h", 4e5, "SOL"),
    Rule(2007, "1h", 10e6),
    Rule(2007, "12h", 20e6),
    Rule(GROUP, "1h", 15e6),
)
BYSTANDERS = tuple(range(2101, 2106))


async def wait_until(check: Callable[[], bool], within: float, what: str) -> None:
    """Poll ``check`` every 20 ms; ``TimeoutError`` naming ``what`` after ``within`` s."""
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"soak: {what} not within {within:.0f} s")
        await asyncio.sleep(0.02)


async def ask(
    telegram: FakeBotApi, chat_id: int, text: str, within: float = 20.0, **kw: Any
) -> str | None:
    """Send a command; the bot's next message to ``chat_id``, or None if none came."""
    before = len(telegram.texts(chat_id))
    telegram.push_command(chat_id, text, **kw)
    try:
        await wait_until(lambda: len(telegram.texts(chat_id)) > before, within, text)
    except TimeoutError:
        return None
    return telegram.texts(chat_id)[before]


def read_db(db: Path, sql: str) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` on a read-only connection (WAL: fine while liqwatch writes)."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def settings_snapshot(db: Path) -> set[tuple[Any, ...]]:
    """Every chat's subscription, mute and rules (not the alert states, which move)."""
    chats = read_db(
        db, "SELECT 'chat', chat_id, type, subscribed, active, muted_until_ms FROM chats"
    )
    rules = read_db(db, "SELECT 'rule', chat_id, coin, window, threshold FROM rules")
    return set(chats) | set(rules)


async def setup_chats(telegram: FakeBotApi) -> list[str]:
    """Run SETUP (chats in parallel, each in order); the commands that got no answer."""
    telegram.set_member(GROUP, ADMIN, "administrator")
    telegram.set_member(GROUP, MEMBER, "member")
    missing: list[str] = []

    async def one(chat_id: int, commands: tuple[str, ...]) -> None:
        kw = {"user_id": ADMIN} if chat_id < 0 else {}
        for text in commands:
            if await ask(telegram, chat_id, text, **kw) is None:
                missing.append(f"{chat_id} {text}")

    chats = dict(SETUP) | {
        b: ("/start", "/threshold 1h off", "/threshold 24h off") for b in BYSTANDERS
    }
    await asyncio.gather(*(one(c, cmds) for c, cmds in chats.items()))
    # A member who is not an administrator must not change the group's settings.
    if await ask(telegram, GROUP, "/threshold 1h 1K", user_id=MEMBER) is None:
        missing.append(f"{GROUP} non-admin /threshold")
    return missing


async def bystander(
    telegram: FakeBotApi,
    chat_id: int,
    rng: random.Random,
    duration_s: float,
    log: list[tuple[int, float, bool]],
) -> None:
    """Keep setting this chat's 5m threshold (never reached) during the cascade; log each
    (chat, amount in $B, answered)."""
    deadline = time.monotonic() + duration_s
    amount = 900.0 + chat_id % 100
    while time.monotonic() < deadline:
        amount += 1
        reply = await ask(telegram, chat_id, f"/threshold 5m {amount:g}B", within=12)
        log.append((chat_id, amount, reply is not None))
        await asyncio.sleep(rng.uniform(0.05, 0.4))


def bystander_losses(db: Path, log: list[tuple[int, float, bool]]) -> list[str]:
    """Each bystander's stored 5m threshold must be its last answered value or one it sent
    later (applied without an answer); anything else is a setting lost."""
    stored = {
        c: t for c, t in read_db(db, "SELECT chat_id, threshold FROM rules WHERE window='5m'")
    }
    problems = []
    for chat_id in BYSTANDERS:
        mine = [(a * 1e9, ok) for c, a, ok in log if c == chat_id]
        answered = [i for i, (_, ok) in enumerate(mine) if ok]
        allowed: set[float | None] = {v for v, _ in mine[answered[-1] if answered else 0 :]}
        if not answered:
            allowed.add(None)
        if stored.get(chat_id) not in allowed:
            problems.append(
                f"bystander {chat_id}: stored {stored.get(chat_id)},"
                f" allowed {sorted(allowed, key=str)}"
            )
    return problems

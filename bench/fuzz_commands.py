"""Fuzz figures: seeded random updates through the real PTB Application and handlers.

The same fuzz as ``tests/handlers/test_fuzz_commands.py`` (``bench/fakes/command_fuzz.py``:
random unicode, 4,000+ character texts, HTML/markdown injection, RTL and zero-width
characters, ``/cmd@OtherBot``, edits, captions, stickers, channel posts, callback queries,
non-administrators in groups, migrations), with more updates if asked, and the counts the
test asserts are zero reported as figures.

Run: ``python -m bench.fuzz_commands [--updates N] [--seed S]``. ``main()`` returns them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

SENTINEL = 99


class _Errors(logging.Handler):
    """Counts records at ERROR or above, and records carrying a traceback."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.errors = 0
        self.tracebacks = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.errors += int(record.levelno >= logging.ERROR)
        self.tracebacks += int(record.exc_info is not None)


async def _fuzz(updates: int, seed: int, workdir: Path) -> dict[str, Any]:
    # Imported here: the fakes are only needed when the benchmark runs.
    from bench.fakes.chat_bot import chat_bot
    from bench.fakes.command_fuzz import (
        ADMIN,
        GUARDED,
        MIGRATING,
        run_fuzz,
        setup_groups,
        stored_settings,
    )

    errors = _Errors()
    logging.getLogger().addHandler(errors)
    try:
        async with chat_bot(workdir / "fuzz.db", known_coins=frozenset({"BTC", "ETH"})) as bot:
            await setup_groups(bot)
            before = {g: await stored_settings(bot, g) for g in (*GUARDED, *MIGRATING)}
            shown = {g: await bot.ask(g, "/settings", user_id=ADMIN) for g in GUARDED}
            first = len(bot.fake.sent)
            started = time.perf_counter()
            fuzzer = await run_fuzz(bot, updates, seed, SENTINEL)
            elapsed = time.perf_counter() - started
            owed: Counter[int] = Counter()
            for p in fuzzer.pushed:
                owed[p.chat_id] += p.replies_owed
            got: Counter[int] = Counter(
                m.chat_id
                for m in bot.fake.sent[first:]
                if isinstance(m.chat_id, int) and m.chat_id != SENTINEL
            )
            changed = [g for g in GUARDED if await stored_settings(bot, g) != before[g]]
            changed += [
                g for g in GUARDED if await bot.ask(g, "/settings", user_id=ADMIN) != shown[g]
            ]
            moved = [
                old
                for old, new in MIGRATING.items()
                if (await stored_settings(bot, new))[:2] != before[old][:2]
            ]
            refused = [
                c
                for c in bot.fake.calls
                if c.method.lower().startswith("send") and c.status != 200
            ]
    finally:
        logging.getLogger().removeHandler(errors)
    return {
        "updates": updates,
        "by_kind": dict(Counter(p.kind for p in fuzzer.pushed)),
        "replies_owed": sum(owed.values()),
        "replies_sent": sum(got.values()),
        "chats_with_wrong_reply_count": sum(1 for c in owed | got if owed[c] != got[c]),
        "replies_refused_by_telegram": len(refused) + len(bot.fake.html_violations),
        "log_errors": errors.errors,
        "log_tracebacks": errors.tracebacks,
        "groups_changed_by_non_admins": len(set(changed)),
        "migrated_groups_that_lost_settings": len(moved),
        "updates_per_s": updates / elapsed,
    }


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the fuzz; return the figures."""
    ap = argparse.ArgumentParser(prog="python -m bench.fuzz_commands", description=__doc__)
    ap.add_argument("--updates", type=int, default=2_000)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    with tempfile.TemporaryDirectory(prefix="liqwatch-fuzz-") as tmp:
        figures = asyncio.run(_fuzz(args.updates, args.seed, Path(tmp)))
    return {"goal": "every count below is 0, and replies_sent == replies_owed", **figures}


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))

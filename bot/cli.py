"""The ``liqwatch`` command line: ``run``, ``replay`` and ``totals``."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path

from bot import clock
from bot.config import ConfigError, Settings, load_dotenv_file
from bot.domain import WINDOWS

log = logging.getLogger("liqwatch")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    parser = argparse.ArgumentParser(
        prog="liqwatch",
        description="Crypto-futures liquidation collector and Telegram alert bot.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser(
        "run", help="collect liquidations live (and run the Telegram bot if configured)"
    )

    replay = sub.add_parser("replay", help="feed a recorded JSON Lines file through the live path")
    replay.add_argument("file", type=Path, help="JSON Lines recording")
    replay.add_argument(
        "--speed",
        type=_non_negative,
        default=0.0,
        help="0 (default) as fast as possible; X replays X times faster than recorded",
    )

    totals = sub.add_parser("totals", help="rolling liquidation totals from the database")
    totals.add_argument("--window", default="24h", choices=list(WINDOWS), help="default 24h")
    totals.add_argument("--coin", default=None, help="one coin, e.g. BTC")
    totals.add_argument("--at", type=int, default=None, metavar="EPOCH_MS", help="window end")
    totals.add_argument("--json", action="store_true", help="print JSON")
    return parser


def _non_negative(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a number") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{raw!r} must be 0 or a positive number")
    return value


def setup_logging(level: str) -> None:
    """One line per record; keep HTTP client request logs (which carry URLs) quiet."""
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    quiet_noisy_loggers()


def quiet_noisy_loggers() -> None:
    """Raise the libraries' chatty loggers to WARNING.

    httpx logs every request URL at INFO, and a Bot API URL contains the bot token; the
    scheduler logs every 200 ms job run.
    """
    for noisy in ("httpx", "httpcore", "telegram.request", "telegram.ext", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``liqwatch`` console script."""
    args = build_parser().parse_args(argv)
    load_dotenv_file()
    # python-telegram-bot 22: RetryAfter.retry_after as a timedelta, without a warning.
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        print(f"liqwatch: configuration error: {exc}", file=sys.stderr)
        return 2
    setup_logging(settings.log_level)
    # A database that cannot be opened is a LIQWATCH_DB problem: one line, not a traceback
    # from the DB thread.
    if _opens_database(args, settings):
        problem = _database_problem(settings.db_path)
        if problem is not None:
            print(f"liqwatch: configuration error: LIQWATCH_DB: {problem}", file=sys.stderr)
            return 2
    try:
        if args.command == "run":
            from bot.app import run_forever

            return asyncio.run(run_forever(settings))  # non-zero: Telegram refused the token
        if args.command == "replay":
            return _replay(settings, args.file, args.speed)
        return _totals(settings, args.window, args.coin, args.at, args.json)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `liqwatch totals --json | head`: the reader left, not an error
        sys.stderr.close()
        return 0


def _opens_database(args: argparse.Namespace, settings: Settings) -> bool:
    """Whether the command is about to open the database (replay and totals first explain
    a missing recording or database themselves)."""
    if args.command == "replay":
        return bool(args.file.is_file())
    if args.command == "totals":
        return settings.db_path.exists()
    return True


def _database_problem(path: Path) -> str | None:
    """Why the SQLite file at ``path`` cannot be opened (or created and migrated), or None."""
    from storage.db import open_db

    try:
        open_db(path).close()
    except (OSError, sqlite3.Error) as exc:
        return " ".join(f"cannot open {str(path)!r}: {exc}".split())
    return None


def _replay(settings: Settings, path: Path, speed: float) -> int:
    from bot.ingest.ingestor import Ingestor
    from bot.ingest.replay import replay
    from bot.venues import make_source
    from storage.db import open_db

    if not path.is_file():
        print(f"liqwatch replay: no such file: {path}", file=sys.stderr)
        return 2
    feeds = settings.feed_config()
    sources = {name: make_source(name, feeds) for name in feeds.venues}
    db = open_db(settings.db_path)
    try:
        # One thread end to end: the replay commits inline on its own connection.
        stats = asyncio.run(replay(path, sources, Ingestor(None), speed, db=db))
    finally:
        db.close()
    print(
        f"replayed {stats.lines} lines: {stats.committed} liquidations stored, "
        f"{stats.rejects} rejected, {stats.malformed} malformed lines, "
        f"{stats.skipped} lines for disabled venues, "
        f"{stats.elapsed_s:.2f} s ({stats.events_per_s:,.0f} events/s)"
    )
    return 0


def _totals(
    settings: Settings, window: str, coin: str | None, at: int | None, as_json: bool
) -> int:
    from bot.text.console import totals_text
    from bot.totals.query import one_shot_service
    from bot.units import ArgError, normalize_coin
    from storage.db import open_db

    if coin is not None:
        try:
            coin = normalize_coin(coin)
        except ArgError as exc:
            print(f"liqwatch totals: {exc}", file=sys.stderr)
            return 2
    if not settings.db_path.exists():
        print(f"liqwatch totals: no database at {settings.db_path} yet", file=sys.stderr)
        return 2
    now_ms = clock.now_ms()
    db = open_db(settings.db_path)
    try:
        end = at if at is not None else now_ms
        service = one_shot_service(db, WINDOWS[window], end, coin, settings.exchanges, now_ms)
        result = asyncio.run(service.query(WINDOWS[window], coin, end)).totals
    finally:
        db.close()
    if as_json:
        print(json.dumps(result.to_json(), indent=2, sort_keys=False))
    else:
        print(totals_text(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Opening the SQLite file and the single thread every database call runs on.

sqlite3 connections are bound to the thread that created them, and SQLite allows one
writer at a time anyway, so the app owns exactly one connection living on one dedicated
thread (``DbThread``); the event loop hands it coarse jobs (a whole batch, a whole query).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Concatenate, ParamSpec, TypeVar

from sqlite_utils import Database

from storage.schema import migrate

P = ParamSpec("P")
T = TypeVar("T")


def open_db(path: str | Path) -> Database:
    """Open (creating it and its folder if needed) the database at ``path``, migrated.

    WAL lets readers (the CLI, sqlite3 shell) coexist with the writer; ``synchronous=NORMAL``
    is durable across application crashes and only risks the last commits on power loss,
    which for a liquidation tape is the right trade for not fsyncing every batch.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    db = Database(path)
    db.enable_wal()
    db.execute("PRAGMA synchronous = NORMAL")
    db.execute("PRAGMA foreign_keys = ON")
    db.execute("PRAGMA busy_timeout = 5000")
    migrate(db)
    return db


class DbThread:
    """One worker thread owning one ``Database``; every call is queued to it in order.

    ``await run(fn, *args)`` runs ``fn(db, *args)`` on that thread and returns its result;
    ``call`` is the blocking form for code without an event loop.
    """

    def __init__(self, path: str | Path, opener: Callable[[Path], Database] = open_db) -> None:
        self.path = Path(path)
        self._opener = opener
        self._db: Database | None = None
        self._open_error: BaseException | None = None
        self._thread_id: int | None = None
        self._closed = False
        self._executor = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="liqwatch-db", initializer=self._open
        )

    def _open(self) -> None:
        # Runs on the DB thread. An exception escaping an initializer would only mark the
        # pool broken and hide the cause, so keep it and raise it from each call instead.
        self._thread_id = threading.get_ident()
        try:
            self._db = self._opener(self.path)
        except BaseException as exc:
            self._open_error = exc

    def _submit(
        self, fn: Callable[Concatenate[Database, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> Future[T]:
        if self._closed:
            raise RuntimeError("DbThread is closed")

        def job() -> T:
            if self._db is None:
                raise RuntimeError(f"cannot open database {self.path}") from self._open_error
            return fn(self._db, *args, **kwargs)

        return self._executor.submit(job)

    @property
    def thread_id(self) -> int | None:
        """Identity of the DB thread once it has started (for diagnostics and tests)."""
        return self._thread_id

    async def run(
        self, fn: Callable[Concatenate[Database, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run ``fn(db, *args)`` on the DB thread without blocking the event loop."""
        return await asyncio.wrap_future(self._submit(fn, *args, **kwargs))

    def call(
        self, fn: Callable[Concatenate[Database, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run ``fn(db, *args)`` on the DB thread and block until it returns."""
        return self._submit(fn, *args, **kwargs).result()

    def close_sync(self) -> None:
        """Finish queued calls, close the connection and stop the thread (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self._executor.submit(self._close_db).result()
        self._executor.shutdown(wait=True)

    async def close(self) -> None:
        """Async form of ``close_sync``: waits for queued calls off the event loop."""
        await asyncio.to_thread(self.close_sync)

    def _close_db(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

"""Writing a batch so that one unwritable row cannot hold back the rows behind it.

A batch is written whole first (the fast path). If SQLite refuses it because of a value
(an integer beyond 64 bits, a string with a lone surrogate, NULL in a NOT NULL column, a
type it cannot bind), the same rows are written one by one, each in its own savepoint,
and only the rows that fail are left out. A failure of the database itself (locked,
full, I/O) is not a property of any row: it propagates, and the caller retries the batch
later as before.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from sqlite_utils import Database

T = TypeVar("T")
R = TypeVar("R")

# sqlite3 raises these while binding or checking one row's values.
_VALUE_ERRORS: tuple[type[BaseException], ...] = (
    OverflowError,  # "Python int too large to convert to SQLite INTEGER"
    ValueError,  # UnicodeEncodeError: "surrogates not allowed"
    TypeError,
    sqlite3.IntegrityError,  # NOT NULL (a NaN is stored as NULL), CHECK, UNIQUE
    sqlite3.DataError,
    sqlite3.InterfaceError,
)


def unwritable(exc: BaseException) -> bool:
    """True when ``exc`` is SQLite refusing a value, not the database failing."""
    if isinstance(exc, _VALUE_ERRORS):
        return True
    # ProgrammingError also means "closed database", which is no fault of the row.
    return isinstance(exc, sqlite3.ProgrammingError) and "binding parameter" in str(exc)


@dataclass
class EachResult(Generic[T, R]):
    """What ``write_each`` wrote (one result per written item) and what it left out."""

    written: list[R] = field(default_factory=list)
    skipped: list[tuple[T, BaseException]] = field(default_factory=list)

    def describe(self) -> str:
        """The first refusal in one line, for the log."""
        if not self.skipped:
            return "none"
        exc = self.skipped[0][1]
        return f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"


def write_each(
    db: Database, items: Sequence[T], write: Callable[[Database, Sequence[T]], R]
) -> EachResult[T, R]:
    """``write(db, [item])`` for every item, each in a savepoint of one transaction; items
    whose values SQLite refuses are skipped. Any other error propagates (and the whole
    transaction is rolled back)."""
    result: EachResult[T, R] = EachResult()
    with db.atomic():
        for item in items:
            try:
                with db.atomic():  # nested: a savepoint, undone alone on failure
                    result.written.append(write(db, [item]))
            except Exception as exc:
                if not unwritable(exc):
                    raise
                result.skipped.append((item, exc))
    return result

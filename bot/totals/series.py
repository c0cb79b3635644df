"""Dense integer ids for the (venue, coin, side) series and the symbols the index has seen.

Numpy sums are indexed by series id; per-series venue, coin and side ids let a query regroup
them by venue or coin with one ``bincount``. Names are normalised once, when a series is
first seen: venues lower case, coins upper case.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from bot.domain import LONG, SHORT

I8 = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]

SIDE_ID = {LONG: 0, SHORT: 1}
SIDE_NAME = (LONG, SHORT)


class SeriesTable:
    """Series and symbol ids. ``of`` maps a key exactly as fed to its id (the hot path);
    ``add`` handles a key not seen before."""

    def __init__(self) -> None:
        self.of: dict[tuple[str, str, str], int] = {}
        self._canonical: dict[tuple[str, str, str], int] = {}
        self.venues: list[str] = []
        self.venue_id: dict[str, int] = {}
        self.coins: list[str] = []
        self.coin_id: dict[str, int] = {}
        self.symbols: list[str] = []
        self.symbol_id: dict[str, int] = {}
        self.n = 0
        self._venue_of: I8 = np.zeros(0, np.int64)
        self._coin_of: I8 = np.zeros(0, np.int64)
        self._side_of: I8 = np.zeros(0, np.int64)

    @property
    def venue_of(self) -> I8:
        """Venue id of each series."""
        return self._venue_of[: self.n]

    @property
    def coin_of(self) -> I8:
        """Coin id of each series."""
        return self._coin_of[: self.n]

    @property
    def side_of(self) -> I8:
        """Side of each series: 0 long, 1 short."""
        return self._side_of[: self.n]

    def add(self, key: tuple[str, str, str]) -> int:
        """The id of ``(venue, coin, side)``, creating the series if it is new."""
        venue, coin, side = key[0].lower(), key[1].upper(), key[2].lower()
        if side not in SIDE_ID:
            raise ValueError(f"unknown side {key[2]!r} (expected long or short)")
        s = self._canonical.get((venue, coin, side))
        if s is None:
            s = self._canonical[(venue, coin, side)] = self.n
            if s >= len(self._venue_of):
                cap = s + max(64, s // 4)
                self._venue_of = _grown(self._venue_of, cap)
                self._coin_of = _grown(self._coin_of, cap)
                self._side_of = _grown(self._side_of, cap)
            self._venue_of[s] = intern(venue, self.venues, self.venue_id)
            self._coin_of[s] = intern(coin, self.coins, self.coin_id)
            self._side_of[s] = SIDE_ID[side]
            self.n = s + 1
        self.of[key] = s
        return s

    def symbol(self, name: str) -> int:
        """The id of symbol ``name``, creating it if it is new."""
        i = self.symbol_id.get(name)
        return intern(name, self.symbols, self.symbol_id) if i is None else i

    def selection(self, coin: str | None, venues: list[str] | None) -> Mask | None:
        """Series of ``coin`` on ``venues`` as a mask (None: every series)."""
        if coin is None and venues is None:
            return None
        sel = np.ones(self.n, np.bool_)
        if coin is not None:
            sel &= self.coin_of == self.coin_id.get(coin.upper(), -1)
        if venues is not None:
            vids = [self.venue_id[v] for v in venues if v in self.venue_id]
            sel &= np.isin(self.venue_of, vids)
        return sel


def intern(name: str, names: list[str], ids: dict[str, int]) -> int:
    """The index of ``name`` in ``names``, appending it if absent."""
    i = ids.get(name)
    if i is None:
        i = ids[name] = len(names)
        names.append(name)
    return i


def _grown(a: I8, cap: int) -> I8:
    out = np.zeros(cap, a.dtype)
    out[: len(a)] = a
    return out

"""Rolling liquidation totals: the numpy index, its series and store, coverage and the
totals query."""

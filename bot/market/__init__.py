"""Funding rates, open interest and mark prices polled from the venues' REST APIs."""

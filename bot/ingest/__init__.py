"""Liquidation feeds: the websocket runner, reference data, the ingestor that commits
batches, uptime and run records, feed health, backoff and replay."""

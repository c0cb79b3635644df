"""Delivery: the Telegram sender with its queue and policy, request helpers and start-up checks."""

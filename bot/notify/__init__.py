"""Delivery channels: ``base`` (the Channel protocol and the dispatcher), ``telegram`` (the
Telegram channel package, the only one importing ``telegram``), ``console`` (plain text)."""

"""Telegram command handlers: thin layers that parse arguments, call ``ChatService`` or the
totals index, and format the answer.

The app calls :func:`register` once and passes :data:`COMMANDS` to ``set_my_commands``.
"""

from __future__ import annotations

from typing import Any

from telegram.ext import Application

from handlers import funding, info, membership, mute, subscription, thresholds, totals, unknown
from handlers.catalog import COMMANDS
from handlers.deps import CoverageProvider, HandlerDeps

__all__ = ["COMMANDS", "CoverageProvider", "HandlerDeps", "register"]


def register(app: Application[Any, Any, Any, Any, Any, Any], deps: HandlerDeps) -> None:
    """Add every command handler and the chat membership/migration tracking to ``app``."""
    for module in (subscription, totals, thresholds, mute, info, membership, funding):
        app.add_handlers(module.handlers(deps))
    # Last: it takes only the commands none of the handlers above took.
    app.add_handlers(unknown.handlers(deps))

"""Message text: alerts, totals, market figures, coverage, status, rich text, Telegram
helpers and the console summary line."""

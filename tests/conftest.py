"""Process-wide test settings."""

import os

# PTB 22 warns when RetryAfter.retry_after is read as an int; the app opts in to timedelta
# (bot/cli.py does the same), and warnings are errors in this suite.
os.environ.setdefault("PTB_TIMEDELTA", "true")

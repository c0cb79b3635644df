"""MarketWatch before its poller exists: /status and the market job see nothing, no error."""

from pathlib import Path

from bot.config import Settings
from bot.market.watch import MarketWatch
from storage.db import DbThread


async def test_before_start_health_is_empty_and_poll_does_nothing(tmp_path: Path) -> None:
    dbt = DbThread(tmp_path / "m.db")
    try:
        watch = await MarketWatch.load(Settings().market_config(), dbt)
        assert watch.poller is None
        assert watch.health() == {}
        assert await watch.poll() is None
        assert watch.state.coins(0) == []
    finally:
        await dbt.close()
